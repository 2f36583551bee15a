'use strict';
// releaseOnExit: the units a handle holds come back when its process ends,
// and the exit status stays the one the program would have had.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run } = require('../support/helpers');

async function holdAndEnd(name, how, release, signal) {
  const child = run('exit-holder.js', [name, how, release ? 'releaseOnExit' : '']);
  await child.line(/^holding$/);
  if (signal) child.kill(signal);
  return child.done;
}

describe('releaseOnExit', () => {
  afterEach(unlinkAll);

  const cases = [
    { how: 'exit', expect: { code: 3, signal: null } },
    { how: 'throw', expect: { code: 1, signal: null } },
    { how: 'reject', expect: { code: 1, signal: null } },
    { how: 'throw-in-withlock', expect: { code: 1, signal: null } },
    { how: 'end', expect: { code: 0, signal: null } },
    { how: 'wait', signal: 'SIGTERM', expect: { code: null, signal: 'SIGTERM' } },
    { how: 'wait', signal: 'SIGINT', expect: { code: null, signal: 'SIGINT' } },
  ];

  for (const c of cases) {
    const label = c.signal ? `${c.signal} with no listener of the program's own` : c.how;
    it(`${label}: the unit comes back and the exit status is ${c.expect.code ?? c.expect.signal}`, async () => {
      const sem = new Semaphore(uniqueName(), { value: 1 });
      try {
        const result = await holdAndEnd(sem.name, c.how, true, c.signal);
        expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal(c.expect);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it(`${label} without releaseOnExit: same exit status, the unit stays taken (POSIX semaphores have no owner)`, async () => {
      const sem = new Semaphore(uniqueName(), { value: 1 });
      try {
        const result = await holdAndEnd(sem.name, c.how, false, c.signal);
        expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal(c.expect);
        expect(sem.value).to.equal(0);
      } finally {
        sem.close();
      }
    });
  }

  it('SIGTERM when the program listens itself: the package leaves the signal to it', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const child = run('signal-owner.js', [sem.name]);
      await child.line(/^holding$/);
      child.kill('SIGTERM');
      const { code, stdout } = await child.done;
      expect(stdout).to.match(/^program saw SIGTERM$/m);
      expect(code).to.equal(7); // the program's own choice, made in its listener
      expect(sem.value).to.equal(1); // released at 'exit'
    } finally {
      sem.close();
    }
  });

  it('a SIGKILLed holder keeps its unit; `posix-semaphore post` repairs it', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const result = await holdAndEnd(sem.name, 'wait', true, 'SIGKILL');
      expect(result.signal).to.equal('SIGKILL');
      expect(sem.value).to.equal(0);
      const repair = await run(require('node:path').join(__dirname, '..', '..', 'dist', 'cli', 'main.js'), ['post', sem.name]).done;
      expect(repair.code, repair.stderr).to.equal(0);
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
    }
  });
});
