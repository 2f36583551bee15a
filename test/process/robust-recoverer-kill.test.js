'use strict';
// Recoverers SIGKILLed while they recover (issue 20, item 4). Two robust
// holders take every unit of a semaphore of value UNITS (robust tryWait()
// in a loop: each unit recorded in their ledger slots) and are SIGKILLed. Then, round after round, one or two recoverers
// (test/fixtures/robust-recoverer.js: a robust open recovers) start at once
// and are SIGKILLed as soon as the value starts rising: in the middle of
// their recovery. Never may the value exceed UNITS; after a last recovery
// that nobody kills, at most one unit may be missing per killed recoverer.
// (Before issue 20 a recoverer cleared a dead slot's whole count, then
// posted unit by unit: one killed in that loop lost what it had not posted.)
//   PSEM_RECOVER_UNITS (default 1,000,000), PSEM_RECOVER_ROUNDS (default 8).
const { expect } = require('chai');
const { Semaphore, uniqueName, run } = require('../support/helpers');
const { ledgerHolders, killed, trackChildren } = require('../support/robust');

const UNITS = Number(process.env.PSEM_RECOVER_UNITS) || 1_000_000;
const ROUNDS = Number(process.env.PSEM_RECOVER_ROUNDS) || 8;

describe('robust recovery: recoverers SIGKILLed while they recover', function () {
  this.timeout(180000);
  const track = trackChildren();

  /** A robust holder that takes `max` units (all there are without it) and stays alive. */
  async function hoarder(name, expected, max) {
    const child = track(run('robust-recoverer.js', [name, 'hoard', ...(max === undefined ? [] : [String(max)])]));
    expect(await child.line(/^took /)).to.equal(`took ${expected}`);
    return child;
  }

  /**
   * Starts `count` recoverers; once all are loaded, lets them open at once,
   * watches the value in a tight loop and SIGKILLs them all as soon as it
   * rises (or after 5 s: nothing left to recover). Resolves with what the round saw.
   */
  async function round(name, sem, count) {
    const children = [];
    for (let i = 0; i < count; i++) children.push(track(run('robust-recoverer.js', [name, 'recover'])));
    await Promise.all(children.map((child) => child.line(/^ready$/)));
    const before = sem.value;
    for (const child of children) child.stdin.write('go\n');
    const deadline = Date.now() + 5000;
    let value = before;
    let highest = before;
    while (value === before && Date.now() < deadline) {
      value = sem.value;
      if (value > highest) highest = value;
    }
    for (const child of children) child.kill('SIGKILL');
    const ends = await Promise.all(children.map((child) => child.done));
    const after = sem.value;
    const finished = ends.filter(({ stdout }) => /^opened /m.test(stdout)).length; // done recovering before the kill
    return { before, atKill: value, after, highest: Math.max(highest, after), killed: count, finished, rose: value !== before };
  }

  it(`${UNITS} units recorded by two dead holders; ${ROUNDS} rounds of recoverers SIGKILLed mid-recovery: never over the value, at most one unit lost per killed recoverer`, async () => {
    const name = uniqueName('recoverer-kill');
    const sem = new Semaphore(name, { value: UNITS, exclusive: true }); // plain: observes, recovers nothing
    try {
      // Two dead holders of half the units each, in two slots (both alive
      // while the second opens: a robust open recovers the dead).
      const half = Math.floor(UNITS / 2);
      const first = await hoarder(name, half, half);
      const second = await hoarder(name, UNITS - half);
      await killed(first);
      await killed(second);
      expect(
        ledgerHolders(name)
          .filter((h) => h.units !== 0)
          .map((h) => [h.units, h.alive]),
        'the dead holders recorded',
      ).to.have.deep.members([
        [half, false],
        [UNITS - half, false],
      ]);
      expect(sem.value, 'after the hoarders died').to.equal(0);

      const rounds = [];
      for (let i = 0; i < ROUNDS; i++) {
        const r = await round(name, sem, 1 + (i % 2));
        rounds.push(r);
        expect(r.highest, `round ${i + 1}: over the value`).to.be.at.most(UNITS);
        if (!r.rose || r.after === UNITS) break; // nothing (more) to recover
      }
      const recoverersKilled = rounds.reduce((sum, r) => sum + r.killed, 0);
      const midRecovery = rounds.filter((r) => r.rose && r.finished === 0 && r.after < UNITS).length;
      const beforeLast = sem.value;

      // The last recovery, which nobody kills.
      const last = track(run('robust-recoverer.js', [name, 'recover']));
      await last.line(/^ready$/);
      last.stdin.write('go\n');
      await last.line(/^opened /);
      const final = sem.value;
      last.kill('SIGKILL');
      await last.done;

      const lost = UNITS - final;
      const line =
        `${UNITS} units, ${rounds.length} rounds, ${recoverersKilled} recoverers killed (${midRecovery} rounds killed mid-recovery); ` +
        `value after each round ${rounds.map((r) => r.after).join(', ')}; ${beforeLast} before the last recovery, ${final} after: ${lost} lost`;
      console.log(`      ${line}`);
      expect(final, `${line}: over the value`).to.be.at.most(UNITS);
      expect(midRecovery, `${line}: no recoverer was killed mid-recovery (the test proved nothing)`).to.be.at.least(1);
      expect(lost, `${line}: more than one unit lost per killed recoverer`).to.be.at.most(recoverersKilled);
      expect(
        ledgerHolders(name).filter((h) => h.units !== 0),
        'units still recorded after the last recovery',
      ).to.deep.equal([]);
    } finally {
      sem.close();
    }
  });
});
