// An HTTP service whose worker processes share a GPU (here: a slow function)
// with every other process on the host: at most 2 renders at once, and the
// event loop keeps serving /health while a request waits for its turn.
//
//   node examples/service.js &        # then, a few times at once:
//   curl localhost:8080/render & curl localhost:8080/health
const http = require('node:http');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, SemaphoreError } = require('posix-semaphore');

const gpu = new Semaphore(process.env.SEM_NAME || 'example-gpu', { value: 2, releaseOnExit: true });

async function render(url) {
  await sleep(500); // stands for the real work
  return `rendered ${url} in process ${process.pid}\n`;
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/health') return res.end('ok\n');
  try {
    const body = await gpu.withLock(() => render(req.url), {
      timeout: 10_000,
      signal: AbortSignal.timeout(15_000),
    });
    res.end(body);
  } catch (err) {
    res.statusCode = err instanceof SemaphoreError && err.code === 'ETIMEDOUT' ? 503 : 500;
    res.end(`${err.message}\n`);
  }
});

server.listen(Number(process.env.PORT) || 8080, () => {
  console.log(`listening on ${server.address().port}`);
});

process.on('SIGTERM', () => {
  server.close();
  gpu.close();
});
