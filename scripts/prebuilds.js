'use strict';
// The prebuilds that ship in the tarball (scripts/lib/prebuilds.js).
//
//   node scripts/prebuilds.js build [--release]
//     Makes prebuilds/linux-<this arch> (prebuildify --napi --strip
//     --tag-libc) and, on x64 with aarch64-linux-gnu-g++ installed,
//     prebuilds/linux-arm64 (cross-compiled) and, with mingw-w64 installed,
//     prebuilds/win32-x64 (scripts/lib/win32.js), each only when missing or
//     older than binding.gyp and native/; then checks as below. prepack and
//     prepublishOnly run it.
//   node scripts/prebuilds.js check [--release]
//     Exits 1, saying why, when this machine's prebuild is missing, when any
//     prebuild is older than binding.gyp or native/, or (--release, for
//     `npm publish`) when linux-x64, linux-arm64 or win32-x64 is missing.
const path = require('node:path');
const { ROOT } = require('./lib/build');
const { hostTarget, canCrossArm64, prebuildState, buildPrebuild, problems } = require('./lib/prebuilds');
const { canCrossWin32 } = require('./lib/win32');

async function main(argv) {
  const [command, ...flags] = argv;
  const release = flags.includes('--release');
  if (command !== 'build' && command !== 'check') {
    console.error('usage: node scripts/prebuilds.js build|check [--release]');
    return 2;
  }
  if (command === 'build') {
    const targets = [hostTarget()];
    if (canCrossArm64()) targets.push('linux-arm64');
    else if (process.arch !== 'arm64')
      console.error('posix-semaphore: no aarch64-linux-gnu-g++, so no linux-arm64 prebuild is built (arm64 users will compile)');
    if (canCrossWin32()) targets.push('win32-x64');
    else if (process.platform !== 'win32')
      console.error('posix-semaphore: no x86_64-w64-mingw32-g++-posix, so no win32-x64 prebuild is built (Windows users will compile)');
    for (const target of targets) {
      const state = prebuildState(target);
      if (state === 'fresh') continue;
      const started = Date.now();
      const files = await buildPrebuild(target);
      console.error(
        `posix-semaphore: built ${files.map((f) => path.relative(ROOT, f)).join(', ')} (${state} before) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  }
  const found = problems({ release });
  if (found.length > 0) {
    console.error(`posix-semaphore: refusing to ${release ? 'publish' : 'pack'}:\n${found.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`posix-semaphore: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
