'use strict';
// The bench chart (bench/lib/chart.js, drawn by `npm run bench` into
// docs/benchmarks.svg): well-formed standalone SVG, one bar per figure with
// its length on a log scale, every peer named, no NaN in a coordinate, and
// labels escaped.
const { expect } = require('chai');
const { chart } = require('../../bench/lib/chart');
const { rowsOf } = require('../../bench/lib/rows');

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([\da-fA-F]+));/g;
const decode = (s) => s.replace(ENTITY, (_, name, dec, hex) => (name ? ENTITIES[name] : String.fromCodePoint(dec ? Number(dec) : parseInt(hex, 16))));

/** Reads XML strictly enough for this file (tags nest, attributes quoted, no bare '<' or '&'); throws where it is not. */
function parseXml(xml) {
  const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>/y;
  const bareAmpersand = (s) => /&/.test(s.replace(ENTITY, ''));
  const root = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  let i = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (bareAmpersand(text)) throw new Error(`a bare '&' in text: ${text}`);
    if (stack.length === 1 && text.trim()) throw new Error(`text outside the root element: ${text}`);
    stack[stack.length - 1].text += decode(text);
    if (lt === -1) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) throw new Error(`not a tag at ${lt}: ${xml.slice(lt, lt + 40)}`);
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open.name !== name || stack.length === 0) throw new Error(`</${name}> closes <${open.name}>`);
    } else {
      const attrs = {};
      for (const [, key, value] of attrText.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
        if (key in attrs) throw new Error(`attribute ${key} twice on <${name}>`);
        if (bareAmpersand(value)) throw new Error(`a bare '&' in ${key}="${value}"`);
        attrs[key] = decode(value);
      }
      const element = { name, attrs, children: [], text: '' };
      stack[stack.length - 1].children.push(element);
      if (stack.length === 1 && root.children.length > 1) throw new Error('more than one root element');
      if (!selfClosing) stack.push(element);
    }
    i = TAG.lastIndex;
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  return root.children[0];
}

const descendants = (element) => element.children.flatMap((c) => [c, ...descendants(c)]);
const all = (element, name) => descendants(element).filter((c) => c.name === name);
const texts = (svg) => all(svg, 'text').map((t) => t.text);
const bars = (svg) => all(svg, 'rect').filter((r) => r.attrs.class === 'bar');

const row = (operation, unit, ours, peer, theirs) => ({ operation, unit, ours, peer, theirs });
const ROWS = [
  row('sync `wait()`+`post()` pair', 'ns', 37.6, 'C `sem_wait()`+`sem_post()`', 12.6),
  row('sync `wait()`+`post()` pair', 'ns', 37.6, 'async-mutex `Semaphore(1)`', 96.1),
  row('sync `wait()`+`post()` pair', 'ns', 37.6, "this package's `RedisSemaphore`", 45000),
  row('ping-pong round trip', 'µs', 12.4, 'C program, same placement', 10.9),
  row('contended, 2 processes, async', 'ops/s', 7.6e6, 'redis-semaphore `Mutex`', 9000),
  row('contended, 2 processes, async', 'ops/s', 7.6e6, 'proper-lockfile `lock()`', 800),
];

describe('bench chart (bench/lib/chart.js)', () => {
  it('is one well-formed standalone SVG: namespace, viewBox, an opaque background, no script or outside resource', () => {
    const xml = chart(ROWS, { caption: ['2 × CPU, Node v20; 2025-01-01'] });
    const svg = parseXml(xml);
    expect(svg.name).to.equal('svg');
    expect(svg.attrs.xmlns).to.equal('http://www.w3.org/2000/svg');
    const [width, height] = [Number(svg.attrs.width), Number(svg.attrs.height)];
    expect(svg.attrs.viewBox).to.equal(`0 0 ${width} ${height}`);
    expect(width).to.be.above(0);
    expect(height).to.be.above(0);
    const background = svg.children.find((c) => c.name === 'rect');
    expect(background.attrs).to.include({ width: String(width), height: String(height), fill: '#ffffff' });
    expect(svg.children.indexOf(background)).to.be.below(svg.children.findIndex((c) => c.name === 'text'));
    expect(xml).not.to.match(/<script|href=|url\(|@import|@font-face/i);
    expect(texts(svg)).to.include('2 × CPU, Node v20; 2025-01-01');
  });

  it('draws bars whose lengths grow with the values on one log scale', () => {
    const values = [12.6, 37.6, 96.1, 420, 3000];
    const svg = parseXml(chart(values.slice(1).map((v) => row('pair', 'ns', values[0], `peer ${v}`, v))));
    const widths = bars(svg).map((b) => Number(b.attrs.width));
    expect(widths).to.have.lengthOf(values.length);
    for (let i = 1; i < widths.length; i++) expect(widths[i]).to.be.above(widths[i - 1]);
    // The same length per decade between any two bars, to the 0.1 px the coordinates are rounded to.
    const perDecade = (i, j) => (widths[j] - widths[i]) / Math.log10(values[j] / values[i]);
    for (let j = 2; j < widths.length; j++) expect(perDecade(0, j)).to.be.closeTo(perDecade(0, 1), 0.5);
    const x = new Set(bars(svg).map((b) => b.attrs.x));
    expect(x.size).to.equal(1);
  });

  it('names every peer and posix-semaphore once per operation, and says which way is better for each unit', () => {
    const svg = parseXml(chart(ROWS));
    const labels = texts(svg);
    for (const r of ROWS) expect(labels).to.include(r.peer.replace(/`/g, ''));
    expect(labels.filter((t) => t === 'posix-semaphore')).to.have.lengthOf(3 + 1); // 3 operations and the legend
    expect(bars(svg)).to.have.lengthOf(ROWS.length + 3);
    expect(labels).to.include('time in ns, log scale: lower is better, the shorter bar wins');
    expect(labels).to.include('time in µs, log scale: lower is better, the shorter bar wins');
    expect(labels).to.include('ops/s, log scale: higher is better, the longer bar wins');
    expect(labels).to.include.members(['10 ns', '100 ns', '1 µs', '10 µs', '100 µs', '100 ops/s', '10 M ops/s']);
    expect(labels).to.include.members(['96.1 ns', '45 µs', '7.6 M ops/s', '800 ops/s']); // 3 digits, the unit changing past 1000
  });

  it('puts no NaN or Infinity in a coordinate: a figure that is not > 0 reads n/a and has no bar', () => {
    const odd = [0, -1, NaN, Infinity, undefined].map((v, i) => row('pair', 'ns', 40, `peer ${i}`, v));
    for (const xml of [chart([...odd, row('pair', 'ns', 40, 'fine', 20)]), chart(odd), chart([])]) {
      expect(xml).not.to.match(/NaN|Infinity|undefined/);
      const svg = parseXml(xml);
      for (const element of descendants(svg)) {
        for (const key of ['x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height']) {
          if (key in element.attrs)
            expect(Number.isFinite(Number(element.attrs[key])), `${element.name} ${key}="${element.attrs[key]}"`).to.equal(true);
        }
      }
    }
    const svg = parseXml(chart(odd));
    expect(texts(svg).filter((t) => t === 'n/a')).to.have.lengthOf(odd.length);
    expect(bars(svg)).to.have.lengthOf(1); // posix-semaphore's
  });

  it("escapes '<', '&' and '\"' in labels, the title and the caption", () => {
    const label = 'a <b> & "c"';
    const xml = chart([row(`op ${label}`, 'ns', 10, `peer ${label}`, 20)], { title: `title ${label}`, caption: [`caption ${label}`] });
    expect(xml).to.include('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(xml).not.to.include('<b>');
    const labels = texts(parseXml(xml));
    for (const what of ['op', 'peer', 'title', 'caption']) expect(labels).to.include(`${what} ${label}`);
  });

  it('gets its rows from the bench table: the figures as numbers, the unit out of the operation', () => {
    const results = {
      robust: {
        results: { sync: { robust: { median: 75.6 }, plain: { median: 60.4 } }, async: { robust: { median: 123.3 }, plain: { median: 104 } } },
      },
      pingpong: { results: { oneCpu: { sync: { median: 12.4 }, async: { median: 12.43 }, C: { median: 10.91 } } } },
    };
    const out = [];
    const table = rowsOf(results, out);
    expect(out).to.have.lengthOf(table.length);
    expect(out[0]).to.deep.equal({
      operation: 'robust sync `wait()`+`post()` pair',
      unit: 'ns',
      ours: 75.6,
      peer: 'plain handle, same run',
      theirs: 60.4,
    });
    expect(out.map((b) => b.unit)).to.deep.equal(['ns', 'ns', 'µs', 'µs']);
    expect(out[2].operation).to.equal('ping-pong round trip, both on one CPU, sync');
    expect(bars(parseXml(chart(out)))).to.have.lengthOf(8);
  });
});
