'use strict';
// Every JavaScript block of the README runs as written (with a -r preload
// that gives its semaphore names a prefix unique to the test run), exits 0
// with nothing on stderr, and cleans up after itself: no semaphore of its
// is left. Its names are prefixed with an app's name, unlikely to clash
// with another program's on a shared host.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, run, FIXTURES } = require('../support/helpers');

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const BLOCKS = [...README.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

// Runs `code` as `node -r rename-semaphore.js -e code` (run()'s file argument is only argv[1]).
function runBlock(code, prefix) {
  return run('/dev/null', [], {
    nodeArgs: ['-r', path.join(FIXTURES, 'rename-semaphore.js'), '-e', code],
    env: { PSEM_TEST_PREFIX: prefix },
  }).done;
}

describe("the README's JavaScript blocks", function () {
  this.timeout(20_000);

  it('there are some', () => {
    expect(BLOCKS.length).to.be.at.least(2);
  });

  it("their semaphore names carry an app's prefix ('myapp-...'), not a bare word another program may use", () => {
    const names = BLOCKS.flatMap((code) => [...code.matchAll(/new Semaphore\('([^']*)'/g)].map((m) => m[1]));
    expect(names.length).to.be.at.least(2);
    for (const name of names) expect(name).to.match(/^myapp-[a-z-]+$/);
  });

  BLOCKS.forEach((code, i) => {
    it(`block ${i + 1} (${code.split('\n')[0].slice(0, 60)}) runs as written and exits 0`, async () => {
      const prefix = `${uniqueName(`readme-${i}`).slice(1)}-`;
      try {
        const { code: status, signal, stderr } = await runBlock(code, prefix);
        expect({ status, signal, stderr }).to.deep.equal({ status: 0, signal: null, stderr: '' });
        const left = fs.readdirSync('/dev/shm').filter((file) => file.startsWith(`sem.${prefix}`));
        expect(left, 'semaphores the block left behind').to.deep.equal([]);
      } finally {
        for (const file of fs.readdirSync('/dev/shm')) {
          if (file.startsWith(`sem.${prefix}`)) Semaphore.unlink(`/${file.slice(4)}`);
        }
      }
    });
  });
});
