'use strict';
// A throwaway redis-server on 127.0.0.1 and a free port, for the
// redis-semaphore column: started by the bench, stopped by its PID.
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');

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
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const server = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => server.once('exit', resolve));
  await new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d;
      if (/Ready to accept connections/.test(output)) resolve();
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`redis-server exited ${code}: ${output.trim()}`)));
  });
  let running = true;
  exited.then(() => (running = false));
  const kill = () => running && process.kill(server.pid, 'SIGTERM');
  process.once('exit', kill); // never left behind, even when the bench fails
  return {
    port,
    pid: server.pid,
    async stop() {
      kill();
      await exited;
      process.removeListener('exit', kill);
    },
  };
}

module.exports = { startRedis, redisServerPath };
