'use strict';
// Over 300 lines on purpose: every test here uses the one pack and install (a minute or more) that before() makes.
// The package as a user gets it: a fresh clone is packed (prepack builds the
// prebuilds: linux-x64 and, with g++-aarch64-linux-gnu, linux-arm64), the
// tarball is installed into a fresh project with no compiler on PATH, then
// used from CommonJS, ESM, strict TypeScript (node10, nodenext, bundler)
// and the shell, and checked with @arethetypeswrong/cli.
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { expect } = require('chai');
const { uniqueName, exists } = require('../support/helpers');
const { ROOT, sh, cleanEnv } = require('../../scripts/lib/build');
const { canCrossArm64, newestVersions, compareVersions } = require('../../scripts/lib/prebuilds');

const execFileP = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const ATTW = path.join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
const NPM_CLI = fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
const HOST = `${process.platform}-${process.arch}`;
const ARM64 = canCrossArm64();
const haveCommand = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs a command that may fail: { code, output } (stdout and stderr). */
async function failing(file, args, options = {}) {
  try {
    const { stdout, stderr } = await execFileP(file, args, { maxBuffer: 16 << 20, ...options });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    return { code: err.code, output: `${err.stdout}${err.stderr}` };
  }
}

function node(args, cwd) {
  return sh(process.execPath, args, { cwd });
}

/**
 * A fresh clone of this checkout: the files git tracks (and new files it
 * would track), none it ignores (no prebuilds/, dist/, build/), with this
 * checkout's node_modules linked in rather than installed again.
 */
async function freshClone(dir) {
  const { stdout } = await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of stdout.split('\0').filter(Boolean)) {
    const stat = fs.lstatSync(path.join(ROOT, file), { throwIfNoEntry: false });
    if (!stat?.isFile()) continue; // deleted and not yet committed, or a link such as node_modules
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** A PATH holding node, npm and sh only: no cc, c++, make or python. */
function bareBin(dir) {
  fs.mkdirSync(dir);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  fs.symlinkSync('/bin/sh', path.join(dir, 'sh')); // npm runs scripts with it
  fs.writeFileSync(path.join(dir, 'npm'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(NPM_CLI)} "$@"\n`, { mode: 0o755 });
  return dir;
}

describe('the packed package, installed in a fresh project', function () {
  this.timeout(300000);
  this.slow(60000);
  let work;
  let clone; // the fresh clone that was packed
  let bin; // PATH with node and npm only
  let tarball;
  let app; // the consumer project
  let pkgDir; // app/node_modules/posix-semaphore
  let packed; // npm pack --json: { filename, size, unpackedSize, files }
  let installLog;
  let packLog; // what npm pack printed, its scripts' lines included

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-test-pack-'));
    bin = bareBin(path.join(work, 'bin'));
    clone = await freshClone(path.join(work, 'clone'));

    // With its scripts: prepack builds dist/ and the prebuilds, and checks them.
    const { stdout, stderr } = await sh('npm', ['pack', '--json', '--foreground-scripts', '--pack-destination', work], { cwd: clone, env: cleanEnv() });
    packLog = stdout + stderr;
    packed = JSON.parse(stdout.slice(stdout.search(/^\[$/m)))[0]; // the JSON, after the scripts' lines
    tarball = path.join(work, packed.filename);

    app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // No compiler on PATH, and the install script runs (npm 11.19 still runs
    // unreviewed install scripts, and warns): an
    // install that tried to build the addon would fail here.
    const install = await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], {
      cwd: app,
      env: cleanEnv({ PATH: bin, CC: '/bin/false', CXX: '/bin/false', npm_config_nodedir: '/nonexistent' }),
    });
    installLog = install.stdout + install.stderr;
    pkgDir = path.join(app, 'node_modules', 'posix-semaphore');
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships dist, esm, the redis stub, native, binding.gyp, the prebuilds, examples, README, CHANGELOG and LICENSE, and nothing else', function () {
    const files = packed.files.map((f) => f.path).sort();
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'binding.gyp', 'native/addon.cc', 'dist/index.js', 'dist/index.d.ts', 'dist/redis.js', 'dist/redis.d.ts', 'dist/cli/main.js', 'dist/cli/demo/parent.js', 'dist/cli/demo/worker.js', 'esm/index.mjs', 'esm/index.d.mts', 'redis/package.json', 'examples/example1.js', 'examples/service.js']) {
      expect(files).to.include(f);
    }
    const prebuilt = files.filter((f) => /^prebuilds\/[^/]+\/[^/]+\.node$/.test(f)).map((f) => f.split('/')[1]);
    expect(prebuilt, 'prebuilds in the tarball').to.include(HOST);
    if (ARM64) expect(prebuilt, 'prebuilds in the tarball (a cross compiler is here)').to.include('linux-arm64');
    const unexpected = files.filter(
      (f) => !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|binding\.gyp|native\/.+\.(cc|h)|dist\/.+\.(js|d\.ts)|esm\/index\.(mjs|d\.mts)|redis\/package\.json|examples\/[^/]+\.js|prebuilds\/[^/]+\/[^/]+\.node)$/.test(f),
    );
    expect(unexpected, 'files users do not need').to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    expect(packed.size, 'tarball bytes').to.be.below(450 * 1024); // three prebuilds: linux-x64, linux-arm64, win32-x64 (290 kB alone)
  });

  it('npm pack compiles the TypeScript once (prepare), after prepack removed dist/', function () {
    const compiles = packLog.split('\n').filter((line) => /^> tsc -p tsconfig\.json$/.test(line.trim()));
    expect(compiles.length, packLog).to.equal(1);
    expect(packLog.indexOf('prepack'), 'prepack ran').to.be.at.least(0);
    expect(packLog.indexOf('prepack')).to.be.below(packLog.indexOf('> tsc -p tsconfig.json'));
  });

  it('installs without a compiler on PATH: the install script finds the prebuild and builds nothing', function () {
    // node-gyp-build ran (npm was allowed to run it) and did not fall back to node-gyp.
    expect(installLog).to.match(/posix-semaphore@1\.0\.0 install[\s\S]*node-gyp-build/);
    expect(installLog).to.not.match(/gyp (ERR|info)|Could not find any Python/);
    expect(fs.existsSync(path.join(pkgDir, 'build')), 'build/ in the installed package').to.equal(false);
  });

  it('loads the prebuild, not a build/ folder', async function () {
    const script = `
      const pkgDir = ${JSON.stringify(pkgDir)};
      const chosen = require(require.resolve('node-gyp-build', { paths: [pkgDir] })).path(pkgDir);
      const Semaphore = require('posix-semaphore');
      const loaded = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
        .map((line) => line.split(/\\s+/).slice(5).join(' ')).filter((file) => file.endsWith('.node'));
      console.log(JSON.stringify({ chosen, loaded: [...new Set(loaded)] }));`;
    const { stdout } = await node(['-e', script], app);
    const { chosen, loaded } = JSON.parse(stdout);
    const prebuilds = path.join(fs.realpathSync(pkgDir), 'prebuilds', HOST) + path.sep;
    expect(chosen.startsWith(prebuilds), chosen).to.equal(true);
    expect(loaded).to.deep.equal([fs.realpathSync(chosen)]);
  });

  describe('packing refuses a missing or stale prebuild', function () {
    it("prepack's check fails, saying why, when native/ is newer than the prebuild and nothing can rebuild it", async function () {
      const future = new Date(Date.now() + 3600_000);
      fs.utimesSync(path.join(clone, 'native', 'addon.cc'), future, future);
      try {
        // What prepack runs after dist/ (the before hook shows npm pack runs it), with no compiler on PATH.
        const build = await failing(process.execPath, ['scripts/prebuilds.js', 'build'], { cwd: clone, env: cleanEnv({ PATH: bin }) });
        expect(build.code, build.output).to.equal(1);
        const check = await failing(process.execPath, ['scripts/prebuilds.js', 'check'], { cwd: clone });
        expect(check.code).to.equal(1);
        expect(check.output).to.include('refusing to pack').and.include(`prebuilds/${HOST} is older than binding.gyp or native/`);
      } finally {
        const past = new Date(Date.now() - 3600_000);
        fs.utimesSync(path.join(clone, 'native', 'addon.cc'), past, past);
      }
    });

    it('npm publish refuses without the linux-arm64 prebuild (prepublishOnly)', async function () {
      const arm64 = path.join(clone, 'prebuilds', 'linux-arm64');
      fs.rmSync(arm64, { recursive: true, force: true });
      // No aarch64-linux-gnu-g++ on this PATH, so it cannot be built; no registry either.
      const result = await failing('npm', ['publish', '--dry-run'], {
        cwd: clone,
        env: cleanEnv({ PATH: `${bin}:${path.join(clone, 'node_modules', '.bin')}`, npm_config_registry: 'http://127.0.0.1:9/' }),
      });
      expect(result.code, result.output).to.not.equal(0);
      expect(result.output).to.include('refusing to publish').and.include('prebuilds/linux-arm64 is missing');
    });
  });

  it('@arethetypeswrong/cli finds no problem in the tarball (node10, node16 from CJS and ESM, bundler)', async function () {
    const result = await failing(process.execPath, [ATTW, tarball]);
    expect(result.code, result.output).to.equal(0);
    expect(result.output).to.include('No problems found');
  });

  it('SemaphoreErrorCode names every code the package throws by name', function () {
    const declared = fs.readFileSync(path.join(pkgDir, 'dist', 'errors.d.ts'), 'utf8');
    const union = declared.slice(declared.indexOf('type SemaphoreErrorCode'), declared.indexOf(';', declared.indexOf('type SemaphoreErrorCode')));
    const named = new Set([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]));
    const thrown = new Set(['ERR_SEMAPHORE_CLOSED']); // SemaphoreError.closed()
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else for (const m of fs.readFileSync(file, 'utf8').matchAll(/new SemaphoreError\('([A-Z_]+)'/g)) thrown.add(m[1]);
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(thrown.size).to.be.above(3);
    expect([...thrown].filter((code) => !named.has(code)), 'thrown but not in the union').to.deep.equal([]);
  });

  it("package.json claims no other author's repository; the README says how to install it, and its examples ship", function () {
    const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    // This project is not published from the original author's repository:
    // the fields stay out until it has a home of its own.
    for (const field of ['repository', 'homepage', 'bugs']) expect(manifest, field).not.to.have.property(field);
    const readme = fs.readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
    expect(readme).to.include('npm install posix-semaphore');
    const mentioned = [...new Set([...readme.matchAll(/`(examples\/[\w.-]+\.js)`/g)].map((m) => m[1]))];
    expect(mentioned).to.not.be.empty;
    for (const file of mentioned) expect(fs.existsSync(path.join(pkgDir, file)), file).to.equal(true);
  });

  describe('the prebuilds load wherever Node.js does', () => {
    let ours;
    before(async function () {
      if (!haveCommand('objdump')) this.skip(); // binutils
      const extracted = path.join(work, 'extracted');
      fs.mkdirSync(extracted);
      await sh('tar', ['xzf', tarball, '-C', extracted]);
      const find = (target) => {
        const dir = path.join(extracted, 'package', 'prebuilds', target);
        return fs.existsSync(dir) ? path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.node'))) : undefined;
      };
      ours = { [HOST]: await newestVersions(find(HOST)) };
      if (find('linux-arm64') && haveCommand('aarch64-linux-gnu-objdump')) ours['linux-arm64'] = await newestVersions(find('linux-arm64'), 'aarch64-linux-gnu-objdump');
    });

    it('needs no newer glibc, libstdc++ or C++ ABI symbol version than the node binary running it', async function () {
      const node = await newestVersions(fs.realpathSync(process.execPath));
      if (node.GLIBC === undefined) this.skip(); // a node not linked against glibc
      for (const family of ['GLIBC', 'GLIBCXX', 'CXXABI']) {
        const needs = ours[HOST][family];
        if (needs === undefined) continue;
        expect(compareVersions(needs, node[family] ?? '0'), `${family}: prebuild needs ${needs}, node needs ${node[family]}`).to.be.at.most(0);
      }
    });

    it('the linux-arm64 prebuild needs no glibc newer than the official arm64 Node.js (2.28: statx), nor its libstdc++ (GLIBCXX_3.4.21, CXXABI_1.3.9)', function () {
      if (!ours['linux-arm64']) this.skip(); // no cross compiler here (test:arm64 checks it against the arm64 node)
      expect(ours['linux-arm64']).to.deep.equal({ GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.9' });
    });

    it("the README's Platforms table names what each prebuild needs", function () {
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      for (const [target, v] of Object.entries(ours)) {
        expect(readme, target).to.match(new RegExp(`${target}[^\\n]*glibc ${v.GLIBC}, GLIBCXX_${v.GLIBCXX}`));
      }
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
        redis: typeof require('posix-semaphore/redis').RedisSemaphore,
      };
      sem.close(); Semaphore.unlink(${JSON.stringify(name)});
      console.log(JSON.stringify(result));`;
    const { stdout } = await node(['-e', script], app);
    expect(JSON.parse(stdout)).to.deep.equal({ isClass: true, taken: 0, value: 1, named: true, error: 'function', redis: 'function' });
    expect(exists(name)).to.equal(false);
  });

  it('import default and import { Semaphore, SemaphoreError } work in an .mjs file', async function () {
    const name = uniqueName('pack-esm');
    fs.writeFileSync(
      path.join(app, 'esm.mjs'),
      `import Semaphore from 'posix-semaphore';
       import { Semaphore as Named, SemaphoreError, AbortError } from 'posix-semaphore';
       import { RedisSemaphore, SemaphoreError as RedisError } from 'posix-semaphore/redis';
       import { createRequire } from 'node:module';
       const sem = new Named(${JSON.stringify(name)}, { value: 2 });
       await sem.acquire();
       let code;
       try { new Semaphore('/psem-test-no-such-semaphore', { create: false }); } catch (err) { code = err instanceof SemaphoreError && err.code; }
       console.log(JSON.stringify({
         same: Semaphore === Named,
         oneCopy: createRequire(import.meta.url)('posix-semaphore') === Semaphore,
         value: sem.value, code, abort: typeof AbortError,
         redis: typeof RedisSemaphore, oneError: RedisError === SemaphoreError,
       }));
       sem.release(); sem.close(); Semaphore.unlink(${JSON.stringify(name)});`,
    );
    const { stdout } = await node(['esm.mjs'], app);
    expect(JSON.parse(stdout)).to.deep.equal({ same: true, oneCopy: true, value: 1, code: 'ENOENT', abort: 'function', redis: 'function', oneError: true });
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

    // posix-semaphore/redis, the shared interface, and the error codes.
    const useRedis = (S) => `
      const shared: SharedSemaphore[] = [new ${S}('/typed-shared'), new RedisSemaphore('typed', { url: 'redis://127.0.0.1:1' })];
      async function tryBoth(): Promise<boolean[]> {
        const answers: boolean[] = [];
        for (const lock of shared) answers.push(await lock.tryAcquire());
        return answers;
      }
      void tryBoth;
      type Known<T> = T extends string ? (string extends T ? never : T) : never;
      const codes: Known<SemaphoreErrorCode>[] = ['EAGAIN', 'ETIMEDOUT', 'ERR_SEMAPHORE_CLOSED', 'ERR_SEMAPHORE_REDIS', 'ERR_SEMAPHORE_NOT_HELD', 'ERR_SEMAPHORE_LEASE_LOST'];
      void codes;`;

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
         import { RedisSemaphore, type SharedSemaphore, type SemaphoreErrorCode } from 'posix-semaphore/redis';
         ${use('Semaphore')}
         ${useRedis('Semaphore')}
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
         });
         import { RedisSemaphore, type SharedSemaphore, type SemaphoreErrorCode } from 'posix-semaphore/redis';
         ${useRedis('Named')}`,
      );
      fs.writeFileSync(
        path.join(app, 'consumer.cts'),
        `import Semaphore = require('posix-semaphore');
         import { RedisSemaphore, type SharedSemaphore, type SemaphoreErrorCode } from 'posix-semaphore/redis';
         ${use('Semaphore')}
         ${useRedis('Semaphore')}`,
      );
      tsconfig('tsconfig.esm.json', { module: 'nodenext', moduleResolution: 'nodenext' }, ['consumer.mts', 'consumer.cts']);
      const result = await tsc('tsconfig.esm.json');
      expect(result.output).to.equal('');
      expect(result.code).to.equal(0);
    });

    it('type-checks a consumer of a bundler (moduleResolution bundler, module preserve)', async function () {
      fs.writeFileSync(
        path.join(app, 'bundled.ts'),
        `import Semaphore, { Semaphore as Named, type SemaphoreErrorCode } from 'posix-semaphore';
         import { RedisSemaphore, type SharedSemaphore } from 'posix-semaphore/redis';
         ${use('Semaphore')}
         ${useRedis('Named')}`,
      );
      tsconfig('tsconfig.bundler.json', { module: 'preserve', moduleResolution: 'bundler' }, ['bundled.ts']);
      const result = await tsc('tsconfig.bundler.json');
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
        "import { type SharedSemaphore } from 'posix-semaphore/redis';",
        'function locked(lock: SharedSemaphore) { if (lock.tryAcquire()) lock.release(); }', // 9: always true for Redis
        'function then(lock: SharedSemaphore) { lock.tryAcquire().then((ok) => ok); }', // 10: no then() on a boolean
        'void n; void locked; void then;',
      ];
      fs.writeFileSync(path.join(app, 'misuse.mts'), lines.join('\n'));
      tsconfig('tsconfig.misuse.json', { module: 'nodenext', moduleResolution: 'nodenext' }, ['misuse.mts']);
      const result = await tsc('tsconfig.misuse.json');
      expect(result.code).to.not.equal(0);
      const errors = [...result.output.matchAll(/^misuse\.mts\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(errors, result.output).to.deep.equal(['2 TS2345', '4 TS2322', '5 TS2561', '6 TS2540', '7 TS2322', '9 TS2801', '10 TS2322']);
    });
  });

  it('installs the posix-semaphore bin, which runs', async function () {
    const bin = path.join(app, 'node_modules', '.bin', 'posix-semaphore');
    const name = uniqueName('pack-bin');
    const version = await sh(bin, ['--version'], { cwd: app });
    expect(version.stdout.trim()).to.equal(require('../../package.json').version);
    const created = await sh(bin, ['create', name, '--value', '2'], { cwd: app });
    expect(created.stdout).to.equal(`created ${name} with value 2, mode 0600\n`);
    const info = JSON.parse((await sh(bin, ['info', name, '--json'], { cwd: app })).stdout);
    expect(info.value).to.equal(2);
    await sh(bin, ['unlink', name], { cwd: app });
    expect(exists(name)).to.equal(false);
  });
});
