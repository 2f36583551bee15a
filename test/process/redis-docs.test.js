'use strict';
// Every `js` block of docs/redis.md runs as written (node -e, with
// REDIS_URL set to a redis-server this file starts) and exits 0 with
// nothing on stderr; a block marked `<!-- fragment -->` (it needs a Sentinel
// or a Cluster by name) is only parsed.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { expect } = require('chai');
const { run } = require('../support/helpers');
const { startRedis, redisServerPath } = require('../../scripts/lib/redis-server');

const DOC = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'redis.md'), 'utf8');
const BLOCKS = [...DOC.matchAll(/(<!-- fragment -->\n\n)?^```js\n([\s\S]*?)^```$/gm)].map((m) => ({ fragment: m[1] !== undefined, code: m[2] }));

describe("docs/redis.md's JavaScript blocks", function () {
  this.timeout(30_000);
  let redis;

  before(async function () {
    if (!redisServerPath()) {
      if (process.env.CI) throw new Error('CI is set but redis-server is not on PATH');
      console.log('      skipped: the blocks need a redis-server: put redis-server on PATH');
      this.skip();
    }
    redis = await startRedis();
  });
  after(async () => {
    if (redis) await redis.stop();
  });

  it('there are some to run, and fragments to parse', () => {
    expect(BLOCKS.filter((b) => !b.fragment).length).to.be.at.least(4);
    expect(BLOCKS.filter((b) => b.fragment).length).to.be.at.least(1);
  });

  BLOCKS.forEach(({ fragment, code }, i) => {
    const title = `block ${i + 1} (${code.split('\n').find((l) => l && !l.startsWith('//')) ?? ''})`.slice(0, 90);
    if (fragment) {
      it(`${title} is a fragment: it parses`, () => {
        expect(() => new vm.Script(code, { filename: `docs/redis.md block ${i + 1}` })).to.not.throw();
      });
      return;
    }
    it(`${title} runs as written and exits 0`, async () => {
      const { code: status, signal, stderr } = await run('/dev/null', [], { nodeArgs: ['-e', code], env: { REDIS_URL: redis.url } }).done;
      expect({ status, signal, stderr }).to.deep.equal({ status: 0, signal: null, stderr: '' });
    });
  });
});
