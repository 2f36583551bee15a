'use strict';
// A throwaway redis-server on 127.0.0.1 and a free port, no persistence,
// its files in a temp dir: started by the bench and by the Redis tests,
// stopped by its PID (and killed at exit if the caller dies first).
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
 * { port, pid, stop() } once it accepts connections.
 */
async function startRedis(command = redisServerPath()) {
  if (!command) throw new Error('redis-server is not installed');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
  const server = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => server.once('exit', resolve));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000);
      const onData = (d) => {
        output += d;
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      server.on('error', reject);
      exited.then((code) => reject(new Error(`redis-server exited ${code}: ${output.trim()}`)));
    });
  } catch (err) {
    if (server.exitCode === null) server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let running = true;
  exited.then(() => (running = false));
  const kill = () => running && process.kill(server.pid, 'SIGKILL');
  process.once('exit', kill); // never left behind, even when the caller fails
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    async stop() {
      if (running) process.kill(server.pid, 'SIGTERM');
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startRedis, redisServerPath };
