'use strict';
// Every JavaScript block of the README runs as written (with a -r preload
// that gives its semaphore names a prefix unique to the test run) and exits 0
// with nothing on stderr.
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

  BLOCKS.forEach((code, i) => {
    it(`block ${i + 1} (${code.split('\n')[0].slice(0, 60)}) runs as written and exits 0`, async () => {
      const prefix = `${uniqueName(`readme-${i}`).slice(1)}-`;
      try {
        const { code: status, signal, stderr } = await runBlock(code, prefix);
        expect({ status, signal, stderr }).to.deep.equal({ status: 0, signal: null, stderr: '' });
      } finally {
        for (const file of fs.readdirSync('/dev/shm')) {
          if (file.startsWith(`sem.${prefix}`)) Semaphore.unlink(`/${file.slice(4)}`);
        }
      }
    });
  });
});
