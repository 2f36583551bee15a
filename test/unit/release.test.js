'use strict';
// The release's metadata tells the truth: one version in package.json, the
// CLI's --version and CHANGELOG.md; no claim on the original author's
// repository; engines, the runtime matrix (scripts/runtimes.js), CI and the
// README's platform table name the same runtimes; no drifting figures.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { NODE_MAJORS } = require('../../scripts/runtimes');

const ROOT = path.join(__dirname, '..', '..');
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json'));

describe('the release: version, metadata, runtimes', function () {
  it("one version: package.json's, the CLI's --version and CHANGELOG.md's newest section agree", function () {
    const cli = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), '--version'], { encoding: 'utf8' }).trim();
    const sections = [...read('CHANGELOG.md').matchAll(/^## (\d+\.\d+\.\d+)\b(.*)$/gm)].map((m) => ({ version: m[1], note: m[2].trim() }));
    expect(cli).to.equal(pkg.version);
    expect(sections[0].version, 'the newest CHANGELOG section').to.equal(pkg.version);
    // Each version has one section; none is said to be unpublished but the
    // newest (which is "unreleased" until it is published).
    expect(new Set(sections.map((s) => s.version)).size).to.equal(sections.length);
    expect(sections.slice(1).filter((s) => /unreleased|never published/i.test(s.note))).to.deep.equal([]);
  });

  it('the first published version since 0.0.2 is a major one: 1.0.0, with a section saying what breaks for 0.0.x users', function () {
    const changelog = read('CHANGELOG.md');
    expect(pkg.version).to.equal('1.0.0');
    const newest = changelog.slice(changelog.indexOf('## 1.0.0'), changelog.indexOf('## 0.0.2'));
    expect(newest).to.match(/^### Breaking, for users of 0\.0\.x$/m);
    expect(changelog).not.to.match(/for users of 1\.0\b/);
  });

  it("names no repository, homepage or bug tracker of another author's", function () {
    for (const field of ['repository', 'homepage', 'bugs']) {
      expect(JSON.stringify(pkg[field] ?? ''), field).not.to.match(/dbousque/);
    }
  });

  it("engines' floor is the oldest Node.js line the matrix tests, and the matrix tests every even line from there", function () {
    expect(pkg.engines.node).to.equal(`>=${NODE_MAJORS[0]}`);
    const even = [];
    for (let major = NODE_MAJORS[0]; major <= NODE_MAJORS[NODE_MAJORS.length - 1]; major += 2) even.push(major);
    expect(NODE_MAJORS).to.deep.equal(even);
    expect(NODE_MAJORS[NODE_MAJORS.length - 1], 'the current line').to.be.at.least(Number(process.versions.node.split('.')[0]));
  });

  it("CI runs the matrix, and README's platform table lists each runtime with how it is tested", function () {
    expect(read('.ci/run')).to.match(/^npm run test:runtimes$/m);
    expect(pkg.scripts['test:runtimes']).to.equal('node scripts/runtimes.js test');
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('| runtime | tested how |'));
    const row = table.split('\n').find((line) => line.startsWith('| Node.js 18,'));
    expect(row, 'a row for the Node.js lines').to.be.a('string');
    expect(row).to.include(`Node.js ${NODE_MAJORS.slice(0, -1).join(', ')} and ${NODE_MAJORS[NODE_MAJORS.length - 1]}`);
    expect(table).to.match(/^\| Bun 1, Deno 2 \| smoke tests/m);
  });

  it("README: its first block starts with a user's install, then the clone's demo and test commands; the example follows; it says what npm test does", function () {
    const readme = read('README.md');
    const firstBlock = /```sh\n([\s\S]*?)```/
      .exec(readme)[1]
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(firstBlock[0]).to.match(/^npm install posix-semaphore\b/);
    expect(firstBlock[1]).to.match(/^npm install && npm run demo\b/);
    expect(firstBlock[2]).to.match(/^npm test\b/);
    const example = readme.indexOf("require('posix-semaphore')");
    expect(example).to.be.above(readme.indexOf('npm test'));
    expect(readme).to.match(/npm test[^\n]*several minutes/);
    expect(readme).to.match(/lints \(eslint, prettier, clang-format\)/);
    expect(readme).to.match(/Redis tests run when `redis-server` is on `PATH`[\s\S]{0,120}skipped/);
  });

  it('docs state no prebuild size (it drifts; test/build/pack.test.js bounds the tarball instead)', function () {
    const pages = [
      'README.md',
      'CONTRIBUTING.md',
      ...fs
        .readdirSync(path.join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const sized = pages.flatMap((page) =>
      read(page)
        .split('\n')
        .filter((line) => /\.node\b.*\b\d+\s*(kB|KB|KiB)\b/.test(line))
        .map((line) => `${page}: ${line}`),
    );
    expect(sized).to.deep.equal([]);
  });
});
