'use strict';
// Every documented bad input, in one table: each is a TypeError or RangeError
// with Node's code, thrown (rejected, for the Promise calls) before any
// syscall, and nothing is left in /dev/shm.
const { expect } = require('chai');
const { native } = require('../../dist/binding');
const { Semaphore, uniqueName, unlinkAll, exists } = require('../support/helpers');

const TYPE = ['TypeError', 'ERR_INVALID_ARG_TYPE'];
const VALUE = ['TypeError', 'ERR_INVALID_ARG_VALUE'];
const RANGE = ['RangeError', 'ERR_OUT_OF_RANGE'];

// Counts calls into the native layer (every syscall goes through one): the
// module's functions, and the calls the native layer bound to `sem`'s handle.
const BOUND = { nativeTryWait: 'tryWait', nativePost: 'post', nativeWait: 'wait', nativeTimedWait: 'timedWait' };
function countNativeCalls(sem) {
  const calls = [];
  const restores = [];
  const spyOn = (object, key, label) => {
    const original = object[key];
    object[key] = function (...args) {
      calls.push(label);
      return original.apply(this, args);
    };
    restores.push(() => {
      object[key] = original;
    });
  };
  for (const key of Object.keys(native)) if (typeof native[key] === 'function') spyOn(native, key, key);
  if (sem) for (const [key, label] of Object.entries(BOUND)) spyOn(sem, key, label);
  return {
    calls,
    restore() {
      for (const restore of restores) restore();
    },
  };
}

const NAMES = [
  ['a number', 42, TYPE],
  ['undefined', undefined, TYPE],
  ['null', null, TYPE],
  ['an object', { name: 'x' }, TYPE],
  ['a String object', Object('jobs'), TYPE],
  ['a symbol', Symbol('jobs'), TYPE],
  ["''", '', VALUE],
  ["'/'", '/', VALUE],
  ["'a/b'", 'a/b', VALUE],
  ["'//a'", '//a', VALUE],
  ["'/a/'", '/a/', VALUE],
  ['252 ASCII bytes', 'x'.repeat(252), VALUE],
  ['252 bytes of 2-byte characters', 'é'.repeat(126), VALUE],
  ['253 bytes with a leading /', `/${'y'.repeat(252)}`, VALUE],
  ['a NUL byte', 'a\0b', VALUE],
  ['a lone high surrogate', 'a\uD800', VALUE],
  ['a lone low surrogate', '\uDC00z', VALUE],
];

// Options of the constructor, tried with a fresh unique name each.
const BOOLEANS = ['create', 'exclusive', 'retryOnEintr', 'debug', 'closeOnExit', 'releaseOnExit'];
const OPTIONS = [
  ['options a string', 'value=1', TYPE],
  ['options a number', 1, TYPE],
  ['options true', true, TYPE],
  ['options an array', [], TYPE],
  ['options a function', () => ({}), TYPE],
  ...BOOLEANS.flatMap((key) => [
    [`${key}: 1`, { [key]: 1 }, TYPE],
    [`${key}: 'true'`, { [key]: 'true' }, TYPE],
    [`${key}: null`, { [key]: null }, TYPE],
  ]),
  ['value: -1', { value: -1 }, RANGE],
  ['value: 1.5', { value: 1.5 }, RANGE],
  ['value: NaN', { value: NaN }, RANGE],
  ['value: Infinity', { value: Infinity }, RANGE],
  ["value: '1'", { value: '1' }, TYPE],
  ['value: 1n', { value: 1n }, TYPE],
  ['value: 2 ** 31 (above SEM_VALUE_MAX)', { value: 2 ** 31 }, RANGE],
  ['mode: -1', { mode: -1 }, RANGE],
  ['mode: 0o1000', { mode: 0o1000 }, RANGE],
  ["mode: 'abc'", { mode: 'abc' }, VALUE],
  ["mode: '0o600'", { mode: '0o600' }, VALUE],
  ["mode: '8'", { mode: '8' }, VALUE],
  ['mode: 1.5', { mode: 1.5 }, RANGE],
  ['mode: true', { mode: true }, TYPE],
  ['exclusive with create: false', { exclusive: true, create: false }, VALUE],
];

// Calls on an open handle; `promise` marks the calls that must reject, not throw.
const TIMEOUTS = [
  ['-1', -1, RANGE],
  ['NaN', NaN, RANGE],
  ["'5'", '5', TYPE],
  ['Infinity', Infinity, RANGE],
  ['2 ** 31', 2 ** 31, RANGE],
  ['undefined', undefined, TYPE],
  ['null', null, TYPE],
];
const CALLS = [
  ...TIMEOUTS.map(([label, ms, expected]) => [`timedWait(${label})`, (sem) => sem.timedWait(ms), expected, false]),
  ['acquire({ timeout: -1 })', (sem) => sem.acquire({ timeout: -1 }), RANGE, true],
  ['acquire({ timeout: NaN })', (sem) => sem.acquire({ timeout: NaN }), RANGE, true],
  ["acquire({ timeout: '5' })", (sem) => sem.acquire({ timeout: '5' }), TYPE, true],
  ['acquire({ timeout: 2 ** 31 })', (sem) => sem.acquire({ timeout: 2 ** 31 }), RANGE, true],
  ['acquire({ signal: {} })', (sem) => sem.acquire({ signal: {} }), TYPE, true],
  ["acquire({ signal: 'abort' })", (sem) => sem.acquire({ signal: 'abort' }), TYPE, true],
  ["acquire('fast')", (sem) => sem.acquire('fast'), TYPE, true],
  ['acquire(5)', (sem) => sem.acquire(5), TYPE, true],
  ['withLock(undefined)', (sem) => sem.withLock(undefined), TYPE, true],
  ["withLock('fn')", (sem) => sem.withLock('fn'), TYPE, true],
  ['withLock({})', (sem) => sem.withLock({}), TYPE, true],
  ['withLock(fn, { timeout: -1 })', (sem) => sem.withLock(() => expect.fail('fn ran'), { timeout: -1 }), RANGE, true],
  ['withLock(fn, { signal: {} })', (sem) => sem.withLock(() => expect.fail('fn ran'), { signal: {} }), TYPE, true],
];

function expectArgumentError(error, [type, code], label) {
  expect(error, `${label}: nothing was thrown`).to.be.an('error');
  expect(error.constructor.name, `${label}: ${error.stack}`).to.equal(type);
  expect(error.code, label).to.equal(code);
  expect(error.message, label).to.be.a('string').and.not.equal('');
  expect(error, label).not.to.be.instanceOf(Semaphore.SemaphoreError);
}

describe('bad input', () => {
  afterEach(unlinkAll);

  describe('names (new Semaphore and Semaphore.unlink)', () => {
    for (const [label, name, expected] of NAMES) {
      it(`${label}: ${expected[1]}, before any syscall`, () => {
        const spy = countNativeCalls();
        let ctorError;
        let unlinkError;
        try {
          try {
            new Semaphore(name);
          } catch (err) {
            ctorError = err;
          }
          try {
            Semaphore.unlink(name);
          } catch (err) {
            unlinkError = err;
          }
        } finally {
          spy.restore();
        }
        expectArgumentError(ctorError, expected, `new Semaphore(${label})`);
        expectArgumentError(unlinkError, expected, `Semaphore.unlink(${label})`);
        expect(spy.calls).to.deep.equal([]);
      });
    }

    it('the limits are exact: 251 bytes (ASCII or multi-byte) and a leading / are accepted', () => {
      const base = uniqueName('edge').slice(1);
      for (const bare of [base + 'x'.repeat(251 - base.length), base + 'é'.repeat((251 - base.length) >> 1)]) {
        const sem = new Semaphore(bare, { exclusive: true });
        try {
          expect(sem.name).to.equal(`/${bare}`);
          expect(Buffer.byteLength(bare)).to.be.within(250, 251);
        } finally {
          sem.close();
          Semaphore.unlink(`/${bare}`);
        }
      }
    });
  });

  describe('constructor options', () => {
    for (const [label, options, expected] of OPTIONS) {
      it(`${label}: ${expected[1]}, before any syscall, nothing created`, () => {
        const name = uniqueName('opt');
        const spy = countNativeCalls();
        let error;
        try {
          new Semaphore(name, options);
        } catch (err) {
          error = err;
        } finally {
          spy.restore();
        }
        expectArgumentError(error, expected, label);
        expect(spy.calls).to.deep.equal([]);
        expect(exists(name)).to.equal(false);
      });
    }

    it('null and undefined options mean the defaults', () => {
      for (const options of [null, undefined, {}]) {
        const sem = new Semaphore(uniqueName('defaults'), options);
        expect(sem.value).to.equal(1);
        sem.close();
      }
    });
  });

  describe('calls on an open handle', () => {
    let sem;
    beforeEach(() => {
      sem = new Semaphore(uniqueName('calls'), { value: 2 });
    });
    afterEach(() => sem.close());

    it('(control) valid calls do reach the native layer that the table watches', async () => {
      const spy = countNativeCalls(sem);
      try {
        sem.timedWait(0);
        await sem.acquire({ timeout: 0 });
        sem.release();
        sem.post();
      } finally {
        spy.restore();
      }
      expect(spy.calls).to.deep.equal(['timedWait', 'tryWait', 'post', 'post']);
    });

    for (const [label, call, expected, promise] of CALLS) {
      it(`${label}: ${promise ? 'rejects' : 'throws'} ${expected[1]}, before any syscall, value unchanged`, async () => {
        const spy = countNativeCalls(sem);
        let result;
        let thrown;
        let error;
        try {
          try {
            result = call(sem);
          } catch (err) {
            thrown = err;
          }
          error = thrown;
          if (promise) {
            expect(thrown, `${label} threw instead of rejecting`).to.equal(undefined);
            expect(result).to.be.instanceOf(Promise);
            error = await result.then(
              () => expect.fail(`${label} resolved`),
              (err) => err,
            );
          }
        } finally {
          spy.restore();
        }
        expectArgumentError(error, expected, label);
        expect(spy.calls).to.deep.equal([]);
        expect(sem.value).to.equal(2);
      });
    }
  });
});
