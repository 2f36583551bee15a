'use strict';
// Every relative link in the project's Markdown (README.md, CONTRIBUTING.md,
// CHANGELOG.md, docs/*.md) resolves: the file exists, and a #fragment names
// a heading of the target page under GitHub's anchor rules (or an explicit
// <a id>/<a name>). External links (http:, mailto:, ...) are not fetched.
// Pure JS: no network, no addon.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');

const ROOT = path.join(__dirname, '..', '..');
const DOCS = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
const PAGES = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...DOCS.map((f) => `docs/${f}`)];

// The lines of a page outside fenced code blocks, with their 1-based numbers.
function prose(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length && /^ {0,3}(`+|~+)\s*$/.test(line)) fence = null;
    } else if (open) {
      fence = open[1];
    } else {
      out.push({ line, number: i + 1 });
    }
  });
  return out;
}

// GitHub's heading anchor: the heading's text (markup dropped), lower-cased,
// every character but letters, marks, digits, connector punctuation (_),
// spaces and hyphens removed, spaces turned into hyphens; a repeat gets -1, -2...
function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`([^`]*)`/g, '$1'); // code spans: their content
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

// The anchors a page defines: its headings' slugs and any <a id="..."> / <a name="...">.
function anchors(text) {
  const seen = new Map();
  const found = new Set();
  const lines = prose(text);
  lines.forEach(({ line }, i) => {
    let heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line)?.[1];
    // A setext heading: a line of text underlined by = or - on the next line.
    const next = lines[i + 1];
    const underlined = next !== undefined && next.number === lines[i].number + 1 && /^ {0,3}(=+|-+)[ \t]*$/.test(next.line);
    if (heading === undefined && underlined && /\S/.test(line) && !/^\s*[|>#-]/.test(line)) heading = line.trim();
    if (heading !== undefined) {
      const base = slug(heading);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      found.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/gi)) found.add(m[1]);
  });
  return found;
}

// The links of a page outside code: inline [text](dest), images and reference definitions.
function links(text) {
  const out = [];
  for (const { line, number } of prose(text)) {
    const bare = line.replace(/(`+)[\s\S]*?\1/g, (span) => ' '.repeat(span.length)); // code spans hold no links
    for (const m of bare.matchAll(/\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      out.push({ dest: m[1].replace(/^<|>$/g, ''), number });
    }
    const def = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(bare);
    if (def) out.push({ dest: def[1].replace(/^<|>$/g, ''), number });
  }
  return out;
}

const anchorsOf = new Map();
function anchorsIn(file) {
  if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(fs.readFileSync(file, 'utf8')));
  return anchorsOf.get(file);
}

// What is wrong with one link of `page`, or undefined.
function problem(page, dest) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(dest)) return undefined; // http:, https:, mailto:: not fetched
  const hash = dest.indexOf('#');
  const target = decodeURIComponent(hash === -1 ? dest : dest.slice(0, hash));
  const fragment = hash === -1 ? undefined : decodeURIComponent(dest.slice(hash + 1));
  const file = target === '' ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), target);
  if (!fs.existsSync(file)) return `${target} does not exist`;
  if (fragment === undefined || !file.endsWith('.md')) return undefined;
  if (!anchorsIn(file).has(fragment)) return `${path.relative(ROOT, file)} has no heading #${fragment}`;
  return undefined;
}

describe('the Markdown links of README.md, CONTRIBUTING.md, CHANGELOG.md and docs/', () => {
  it('the slug rule matches GitHub on the headings these pages use', () => {
    expect(slug('What it is for, and when not')).to.equal('what-it-is-for-and-when-not');
    expect(slug('Why its own scripts, not redis-semaphore')).to.equal('why-its-own-scripts-not-redis-semaphore');
    expect(slug('`UV_THREADPOOL_SIZE` − 1 and [the pool](x.md)')).to.equal('uv_threadpool_size--1-and-the-pool');
    expect(slug('1.1.0 (unreleased)')).to.equal('110-unreleased');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\nA\n---\n<a id="x"></a>')]).to.deep.equal(['a', 'a-1', 'a-2', 'x']);
  });

  it('README.md links every page of docs/ (none is an orphan)', () => {
    const linked = new Set(links(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).map(({ dest }) => dest.split('#')[0]));
    expect(PAGES.filter((p) => p.startsWith('docs/') && !linked.has(p))).to.deep.equal([]);
  });

  for (const page of PAGES) {
    it(`${page}: every relative link and anchor resolves`, () => {
      const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
      const broken = links(text)
        .map(({ dest, number }) => ({ dest, number, why: problem(page, dest) }))
        .filter((l) => l.why)
        .map((l) => `${page}:${l.number}: (${l.dest}) ${l.why}`);
      expect(broken, broken.join('\n')).to.deep.equal([]);
    });
  }
});
