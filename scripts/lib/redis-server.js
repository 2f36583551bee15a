'use strict';
// The one place a throwaway redis-server is started: on 127.0.0.1 and a free
// port (or one given, to restart a server where it was), no persistence, its
// files (log included) in a temporary directory; also a Sentinel
// (startSentinel) and a node of a Cluster (extra args). Used by the Redis
// tests (test/support/redis.js), the bench (bench/contended.js) and CI
// (.ci/run):
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

/** The redis-sentinel command (or redis-server, which runs one with --sentinel), or undefined. */
function redisSentinelPath() {
  const r = spawnSync('sh', ['-c', 'command -v redis-sentinel'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The redis-cli command, or undefined when it is not installed. */
function redisCliPath() {
  const r = spawnSync('sh', ['-c', 'command -v redis-cli'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Starts redis-server without persistence; resolves with
 * { port, url, pid, dir, stop(), kill(), detach() } once it accepts
 * connections. It is killed when this process exits, unless detach() was
 * called (then whoever got its pid stops it). stop() ends it with SIGTERM
 * (SIGKILL after 5 s) and removes its directory; kill() ends it with
 * SIGKILL, as a crash would. Options (or the command, as a string):
 * `command`, `port` (default: a free one), `args` (more arguments, such as
 * ['--replicaof', '127.0.0.1', '6379'] or ['--cluster-enabled', 'yes']),
 * `sentinel` (a Sentinel: its config file is written in its directory).
 */
async function startRedis(options = {}) {
  const {
    command = redisServerPath(),
    port = await freePort(),
    args: extra = [],
    sentinel,
  } = typeof options === 'string' ? { command: options } : options;
  if (!command) throw new Error('redis-server is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
  const log = path.join(dir, 'redis.log');
  const head = [];
  if (sentinel) {
    // A Sentinel rewrites its config file: one of its own, in its directory.
    const conf = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(conf, `${sentinel.join('\n')}\n`);
    head.push(conf, '--sentinel');
  }
  const args = [
    ...head,
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
    ...extra,
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
        if ((sentinel ? /\+monitor master/ : /Ready to accept connections/).test(output())) finish();
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
    log: output,
    /** SIGKILL, as a crash; resolves once it has exited, and removes its directory. */
    async kill() {
      kill();
      await exited;
      process.removeListener('exit', kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
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

/**
 * Starts a Sentinel watching the master `masterName` at 127.0.0.1:`masterPort`
 * (quorum `quorum`), judged down after `downAfterMs` without an answer.
 * Resolves like startRedis().
 */
function startSentinel({ masterName, masterPort, quorum = 2, downAfterMs = 500, failoverTimeoutMs = 2000 }) {
  return startRedis({
    command: redisSentinelPath() ?? redisServerPath(),
    sentinel: [
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
      `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${masterName} 1`,
    ],
  });
}

module.exports = { startRedis, startSentinel, redisServerPath, redisSentinelPath, redisCliPath, freePort };

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
