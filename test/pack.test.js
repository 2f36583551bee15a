'use strict';
// The package as a user gets it: `npm pack`, installed from the tarball into
// a fresh project with no compiler, then used from CommonJS, ESM, strict
// TypeScript and the shell.
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { expect } = require('chai');
const { uniqueName, exists } = require('./helpers');

const execFileP = promisify(execFile);
const spawnSyncStatus = (file, args) => spawnSync(file, args).status;
const ROOT = path.join(__dirname, '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PREBUILDS = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const SOURCES = [path.join(ROOT, 'binding.gyp'), ...fs.readdirSync(path.join(ROOT, 'native')).map((f) => path.join(ROOT, 'native', f))];

/** npm without the npm_* variables of an enclosing `npm test`, which would steer it. */
function npmEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, ...extra };
}

async function sh(file, args, options = {}) {
  try {
    return await execFileP(file, args, { maxBuffer: 16 << 20, ...options });
  } catch (err) {
    err.message += `\nstdout: ${err.stdout}\nstderr: ${err.stderr}`;
    throw err;
  }
}

function node(args, cwd) {
  return sh(process.execPath, args, { cwd });
}

/**
 * prebuilds/ as `npm run prebuild` makes it, newer than the native sources.
 * Built in a copy of the package, because prebuildify rebuilds build/ and
 * moves the addon out of build/Release, under the feet of any other process
 * of this checkout that loads it meanwhile.
 */
async function ensurePrebuild(work) {
  const newest = Math.max(...SOURCES.map((f) => fs.statSync(f).mtimeMs));
  const current = fs.existsSync(PREBUILDS) ? fs.readdirSync(PREBUILDS).filter((f) => f.endsWith('.node')) : [];
  if (current.length > 0 && current.every((f) => fs.statSync(path.join(PREBUILDS, f)).mtimeMs >= newest)) return 'reused';
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(ROOT, f), path.join(stage, f));
  fs.cpSync(path.join(ROOT, 'native'), path.join(stage, 'native'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  const nodedir = process.env.npm_config_nodedir; // where the headers are, if npm was told
  await sh('npm', ['run', '--silent', 'prebuild'], { cwd: stage, env: npmEnv(nodedir ? { npm_config_nodedir: nodedir } : {}) });
  const built = path.join(stage, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(PREBUILDS, { recursive: true });
  for (const f of current) fs.rmSync(path.join(PREBUILDS, f), { force: true });
  for (const f of fs.readdirSync(built)) {
    // Copy, then rename: another run never sees half a file.
    fs.copyFileSync(path.join(built, f), path.join(PREBUILDS, `.${f}.${process.pid}`));
    fs.renameSync(path.join(PREBUILDS, `.${f}.${process.pid}`), path.join(PREBUILDS, f));
  }
  return 'built';
}

describe('the packed package, installed in a fresh project', function () {
  this.timeout(180000);
  this.slow(30000);
  let work;
  let app; // the consumer project
  let pkgDir; // app/node_modules/posix-semaphore
  let packed; // npm pack --json: { filename, size, unpackedSize, files }

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-test-pack-'));
    await ensurePrebuild(work);

    // --ignore-scripts: dist/ is built (pretest), and `prepare` would rebuild it under other tests.
    const { stdout } = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: npmEnv() });
    packed = JSON.parse(stdout)[0];

    app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // No compiler: an install that tried to build the addon would fail here.
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, packed.filename)], {
      cwd: app,
      env: npmEnv({ CC: '/bin/false', CXX: '/bin/false', npm_config_nodedir: '/nonexistent' }),
    });
    pkgDir = path.join(app, 'node_modules', 'posix-semaphore');
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships dist, esm, native, binding.gyp, the prebuild, README and LICENSE, and nothing else', function () {
    const files = packed.files.map((f) => f.path).sort();
    for (const f of ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'native/addon.cc', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/demo.js', 'esm/index.mjs', 'esm/index.d.mts']) {
      expect(files).to.include(f);
    }
    expect(files.filter((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f))).to.have.length.at.least(1);
    const unexpected = files.filter(
      (f) => !/^(package\.json|README\.md|LICENSE|binding\.gyp|native\/.+\.(cc|h)|dist\/.+\.(js|d\.ts)|esm\/index\.(mjs|d\.mts)|prebuilds\/[^/]+\/[^/]+\.node)$/.test(f),
    );
    expect(unexpected, 'files users do not need').to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    expect(packed.size, 'tarball bytes').to.be.below(200 * 1024);
  });

  it('installs without compiling: no build/, and node-gyp-build loads the prebuild', async function () {
    expect(fs.existsSync(path.join(pkgDir, 'build')), 'build/ in the installed package').to.equal(false);
    const script = `
      const pkgDir = ${JSON.stringify(pkgDir)};
      const chosen = require(require.resolve('node-gyp-build', { paths: [pkgDir] })).path(pkgDir);
      const Semaphore = require('posix-semaphore');
      const loaded = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
        .map((line) => line.split(/\\s+/).slice(5).join(' ')).filter((file) => file.endsWith('.node'));
      console.log(JSON.stringify({ chosen, loaded: [...new Set(loaded)] }));`;
    const { stdout } = await node(['-e', script], app);
    const { chosen, loaded } = JSON.parse(stdout);
    const prebuilds = path.join(fs.realpathSync(pkgDir), 'prebuilds', 'linux-x64') + path.sep;
    expect(chosen.startsWith(prebuilds), chosen).to.equal(true);
    expect(loaded).to.deep.equal([fs.realpathSync(chosen)]);
  });

  describe('the prebuild loads wherever this Node.js does', () => {
    // The newest version of each symbol-version family (GLIBC, GLIBCXX,
    // CXXABI) a binary needs, from `objdump -T`.
    async function newestVersions(file) {
      const { stdout } = await sh('objdump', ['-T', file]);
      const newest = {};
      for (const [, family, version] of stdout.matchAll(/\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)/g)) {
        if (newest[family] === undefined || compareVersions(version, newest[family]) > 0) newest[family] = version;
      }
      return newest;
    }
    function compareVersions(a, b) {
      const [x, y] = [a, b].map((v) => v.split('.').map(Number));
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    }
    let prebuild;
    let ours;
    before(async function () {
      if (spawnSyncStatus('objdump', ['--version']) !== 0) this.skip(); // binutils
      prebuild = path.join(PREBUILDS, fs.readdirSync(PREBUILDS).find((f) => f.endsWith('.node')));
      ours = await newestVersions(prebuild);
    });

    it('needs no newer glibc, libstdc++ or C++ ABI symbol version than the node binary running it', async function () {
      const node = await newestVersions(fs.realpathSync(process.execPath));
      if (node.GLIBC === undefined) this.skip(); // a node not linked against glibc
      for (const family of ['GLIBC', 'GLIBCXX', 'CXXABI']) {
        if (ours[family] === undefined) continue;
        expect(compareVersions(ours[family], node[family] ?? '0'), `${family}: prebuild needs ${ours[family]}, node needs ${node[family]}`).to.be.at.most(0);
      }
    });

    it("the README's Platforms section names what it needs", function () {
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      expect(readme).to.include(`glibc ${ours.GLIBC} and libstdc++ GLIBCXX_${ours.GLIBCXX}`);
    });
  });

  it("require('posix-semaphore') returns the class, as in the original README", async function () {
    const name = uniqueName('pack-cjs');
    const script = `
      const Semaphore = require('posix-semaphore');
      const sem = new Semaphore(${JSON.stringify(name)});
      sem.wait(); const taken = sem.value; sem.post();
      const result = {
        isClass: typeof Semaphore === 'function' && sem instanceof Semaphore,
        taken, value: sem.value,
        named: Semaphore.Semaphore === Semaphore && Semaphore.default === Semaphore,
        error: typeof Semaphore.SemaphoreError,
      };
      sem.close(); Semaphore.unlink(${JSON.stringify(name)});
      console.log(JSON.stringify(result));`;
    const { stdout } = await node(['-e', script], app);
    expect(JSON.parse(stdout)).to.deep.equal({ isClass: true, taken: 0, value: 1, named: true, error: 'function' });
    expect(exists(name)).to.equal(false);
  });

  it('import default and import { Semaphore, SemaphoreError } work in an .mjs file', async function () {
    const name = uniqueName('pack-esm');
    fs.writeFileSync(
      path.join(app, 'esm.mjs'),
      `import Semaphore from 'posix-semaphore';
       import { Semaphore as Named, SemaphoreError, AbortError } from 'posix-semaphore';
       import { createRequire } from 'node:module';
       const sem = new Named(${JSON.stringify(name)}, { value: 2 });
       await sem.acquire();
       let code;
       try { new Semaphore('/psem-test-no-such-semaphore', { create: false }); } catch (err) { code = err instanceof SemaphoreError && err.code; }
       console.log(JSON.stringify({
         same: Semaphore === Named,
         oneCopy: createRequire(import.meta.url)('posix-semaphore') === Semaphore,
         value: sem.value, code, abort: typeof AbortError,
       }));
       sem.release(); sem.close(); Semaphore.unlink(${JSON.stringify(name)});`,
    );
    const { stdout } = await node(['esm.mjs'], app);
    expect(JSON.parse(stdout)).to.deep.equal({ same: true, oneCopy: true, value: 1, code: 'ENOENT', abort: 'function' });
  });

  describe('TypeScript (tsc --strict --noEmit)', function () {
    const typeRoots = [path.join(ROOT, 'node_modules', '@types')];

    function tsconfig(file, compilerOptions, files) {
      const options = { strict: true, noEmit: true, target: 'es2022', skipLibCheck: false, types: ['node'], typeRoots, ...compilerOptions };
      fs.writeFileSync(path.join(app, file), JSON.stringify({ compilerOptions: options, files }));
    }

    async function tsc(project) {
      try {
        await execFileP(process.execPath, [TSC, '-p', project], { cwd: app });
        return { code: 0, output: '' };
      } catch (err) {
        return { code: err.code, output: err.stdout + err.stderr };
      }
    }

    const use = (S) => `
      const sem: ${S} = new ${S}('/typed', { value: 2, mode: '0600', create: true, exclusive: false });
      const value: number = sem.value;
      const name: string = sem.name;
      async function locked(): Promise<number> {
        await sem.acquire({ timeout: 10, signal: AbortSignal.timeout(50) });
        sem.release();
        return sem.withLock(async () => value + name.length, { timeout: 5 });
      }
      void locked;
      sem.close();
      ${S}.unlink('/typed');`;

    it('type-checks CommonJS consumers: import = require() and an esModuleInterop default import', async function () {
      fs.writeFileSync(
        path.join(app, 'cjs-require.ts'),
        `import Semaphore = require('posix-semaphore');
         ${use('Semaphore')}
         const options: Semaphore.SemaphoreOptions = { releaseOnExit: true };
         function isTaken(err: unknown): boolean { return err instanceof Semaphore.SemaphoreError && err.code === 'EAGAIN'; }
         void options; void isTaken;`,
      );
      fs.writeFileSync(
        path.join(app, 'cjs-default.ts'),
        `import Semaphore, { SemaphoreError } from 'posix-semaphore';
         ${use('Semaphore')}
         const errno: number | undefined = new SemaphoreError('EAGAIN').errno;
         void errno;`,
      );
      tsconfig('tsconfig.cjs.json', { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, ['cjs-require.ts', 'cjs-default.ts']);
      const result = await tsc('tsconfig.cjs.json');
      expect(result.output).to.equal('');
      expect(result.code).to.equal(0);
    });

    it('type-checks an ESM .mts consumer (module nodenext), and a .cts one beside it', async function () {
      fs.writeFileSync(
        path.join(app, 'consumer.mts'),
        `import Semaphore, { Semaphore as Named, SemaphoreError, AbortError, type SemaphoreOptions, type AcquireOptions } from 'posix-semaphore';
         ${use('Named')}
         const options: SemaphoreOptions = { value: 1 };
         const acquire: AcquireOptions = { timeout: 1 };
         const other: Semaphore = new Semaphore('/typed-esm', options);
         other.acquire(acquire).catch((err: unknown) => {
           if (err instanceof SemaphoreError) { const code: string = err.code; void code; }
           if (err instanceof AbortError) { const code: 'ABORT_ERR' = err.code; void code; }
         });`,
      );
      fs.writeFileSync(
        path.join(app, 'consumer.cts'),
        `import Semaphore = require('posix-semaphore');
         ${use('Semaphore')}`,
      );
      tsconfig('tsconfig.esm.json', { module: 'nodenext', moduleResolution: 'nodenext' }, ['consumer.mts', 'consumer.cts']);
      const result = await tsc('tsconfig.esm.json');
      expect(result.output).to.equal('');
      expect(result.code).to.equal(0);
    });

    it('rejects misuse at compile time', async function () {
      const lines = [
        "import Semaphore from 'posix-semaphore';",
        'new Semaphore(42);', // 2: a number for the name
        "const sem = new Semaphore('/typed-misuse');",
        "sem.acquire({ timeout: 'x' });", // 4: a string timeout
        "new Semaphore('/typed-misuse', { vaule: 1 });", // 5: a misspelt option
        'sem.value = 3;', // 6: value is read-only
        'const n: number = sem.tryWait();', // 7: tryWait() returns nothing
      ];
      fs.writeFileSync(path.join(app, 'misuse.mts'), lines.join('\n'));
      tsconfig('tsconfig.misuse.json', { module: 'nodenext', moduleResolution: 'nodenext' }, ['misuse.mts']);
      const result = await tsc('tsconfig.misuse.json');
      expect(result.code).to.not.equal(0);
      const errors = [...result.output.matchAll(/^misuse\.mts\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(errors, result.output).to.deep.equal(['2 TS2345', '4 TS2322', '5 TS2561', '6 TS2540', '7 TS2322']);
    });
  });

  it('installs the posix-semaphore bin, which runs', async function () {
    const bin = path.join(app, 'node_modules', '.bin', 'posix-semaphore');
    const name = uniqueName('pack-bin');
    const version = await sh(bin, ['--version'], { cwd: app });
    expect(version.stdout.trim()).to.equal(require('../package.json').version);
    const created = await sh(bin, ['create', name, '--value', '2'], { cwd: app });
    expect(created.stdout).to.equal(`created ${name} with value 2, mode 0600\n`);
    const info = JSON.parse((await sh(bin, ['info', name, '--json'], { cwd: app })).stdout);
    expect(info.value).to.equal(2);
    await sh(bin, ['unlink', name], { cwd: app });
    expect(exists(name)).to.equal(false);
  });
});
