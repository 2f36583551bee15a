'use strict';
// The one place a throwaway redis-server is started: on 127.0.0.1 and a free
// port, no persistence, its files (log included) in a temporary directory.
// Used by the Redis tests (test/support/redis.js), the bench
// (bench/contended.js) and CI (.ci/run):
//
//   node scripts/lib/redis-server.js
//     Starts one and prints `PID URL DIR` once it accepts connections, then
//     leaves it running: the caller stops it by PID and removes DIR.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The redis-server command, or undefined when it is not installed. */
function redisServerPath() {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Starts redis-server without persistence; resolves with
 * { port, url, pid, dir, stop(), detach() } once it accepts connections.
 * It is killed when this process exits, unless detach() was called (then
 * whoever got its pid stops it). stop() ends it with SIGTERM (SIGKILL after
 * 5 s) and removes its directory.
 */
async function startRedis(command = redisServerPath()) {
  if (!command) throw new Error('redis-server is not installed');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
  const log = path.join(dir, 'redis.log');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    '--logfile',
    log,
  ];
  const server = spawn(command, args, { stdio: 'ignore' });
  const output = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
  let running = true;
  const exited = new Promise((resolve) => server.once('exit', resolve)).then((code) => {
    running = false;
    return code;
  });
  try {
    await new Promise((resolve, reject) => {
      const started = Date.now();
      const finish = (err) => {
        clearInterval(poll);
        if (err) reject(err);
        else resolve();
      };
      const poll = setInterval(() => {
        if (/Ready to accept connections/.test(output())) finish();
        else if (Date.now() - started > 10_000) finish(new Error(`redis-server did not start in 10 s:\n${output()}`));
      }, 20);
      server.once('error', finish);
      exited.then((code) => finish(new Error(`redis-server exited ${code}: ${output().trim()}`)));
    });
  } catch (err) {
    if (running) server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kill = () => running && process.kill(server.pid, 'SIGKILL');
  process.once('exit', kill); // never left behind, even when the caller fails
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    dir,
    async stop() {
      if (running) process.kill(server.pid, 'SIGTERM');
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    detach() {
      process.removeListener('exit', kill);
      server.unref();
    },
  };
}

module.exports = { startRedis, redisServerPath };

if (require.main === module) {
  startRedis().then(
    (server) => {
      server.detach();
      process.stdout.write(`${server.pid} ${server.url} ${server.dir}\n`);
    },
    (err) => {
      console.error(`redis-server: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
