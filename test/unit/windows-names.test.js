'use strict';
// Semaphore names on Windows (src/validate/name.ts), checked on Linux with
// process.platform faked: 'jobs' and 'Local\jobs' are the session's, 'Global\jobs'
// every session's, any other backslash is refused before any call. The
// names themselves are tested under Wine by test/build/win32/core.win32.js.
const { expect } = require('chai');
const { normalizeName } = require('../../dist/validate');

function asWindows(fn) {
  const platform = Object.getOwnPropertyDescriptor(process, 'platform');
  Object.defineProperty(process, 'platform', { ...platform, value: 'win32' });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, 'platform', platform);
  }
}

describe('semaphore names on Windows', () => {
  it('a leading Global\\ or Local\\ namespace is kept, with or without the "/"', () => {
    asWindows(() => {
      expect(normalizeName('Global\\jobs')).to.equal('/Global\\jobs');
      expect(normalizeName('/Local\\jobs')).to.equal('/Local\\jobs');
      expect(normalizeName('jobs')).to.equal('/jobs');
    });
  });

  it('any other backslash, or a namespace with no name after it, throws ERR_INVALID_ARG_VALUE', () => {
    for (const name of ['a\\b', 'Global\\a\\b', 'Global\\', 'Session\\1\\jobs', '\\jobs']) {
      const err = asWindows(() => {
        try {
          normalizeName(name);
        } catch (e) {
          return e;
        }
      });
      expect(err, name).to.be.instanceOf(TypeError);
      expect(err.code, name).to.equal('ERR_INVALID_ARG_VALUE');
    }
  });

  it('on Linux a backslash is an ordinary character, as before', () => {
    expect(normalizeName('a\\b')).to.equal('/a\\b');
    expect(normalizeName('Global\\jobs')).to.equal('/Global\\jobs');
  });
});
