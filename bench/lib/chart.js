'use strict';
// The bench table as a picture (docs/benchmarks.svg): bench/index.js hands
// chart() the table's compared rows and writes the SVG string it returns.
// One panel per unit, each on its own log axis with labelled decades and
// saying which way is better (a time: shorter bar; a throughput: longer bar).
// In a panel, one group per operation: posix-semaphore's bar, then each
// peer's, its figure at its end. Plain SVG, no script, no external font, an
// opaque background: GitHub shows it the same in light and dark mode.

const HIGHER_IS_BETTER = new Set(['ops/s']);
const NS_PER = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 };
const COLOUR = { ours: '#0969da', peer: '#8c959f', text: '#1f2328', muted: '#59636e', grid: '#d1d9e0', minor: '#eff2f5' };
const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
const CHAR = 6.5; // a generous mean width of a 12 px character: the label column is sized from it
const PAD = 16;
const BAR = { row: 18, height: 12 };
const BARS_WIDTH = 440;
const FIGURE_WIDTH = 100;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const plain = (s) => String(s).replace(/`|\*\*/g, ''); // the table's cells are Markdown
const round = (x) => Math.round(x * 10) / 10;
const short = (x) => String(Number(x.toPrecision(3)));
const drawable = (v) => Number.isFinite(v) && v > 0;

/** A value with its unit, to 3 digits: "37.6 ns", "7.6 M ops/s"; times change unit past 1000 ("1 µs"). */
function withUnit(v, unit) {
  if (unit in NS_PER) {
    const t = v * NS_PER[unit];
    const u = t >= 1e9 ? 's' : t >= 1e6 ? 'ms' : t >= 1e3 ? 'µs' : 'ns';
    return `${short(t / NS_PER[u])} ${u}`;
  }
  const [d, prefix] = v >= 1e9 ? [1e9, ' G'] : v >= 1e6 ? [1e6, ' M'] : v >= 1e3 ? [1e3, ' k'] : [1, ''];
  return `${short(v / d)}${prefix} ${unit}`;
}

/** Rows of { operation, unit, ours, peer, theirs } → panels of groups of bars, in first-seen order. */
function panelsOf(rows) {
  const panels = [];
  for (const row of rows) {
    let panel = panels.find((p) => p.unit === row.unit);
    if (!panel) panels.push((panel = { unit: row.unit, groups: [] }));
    let group = panel.groups.find((g) => g.operation === row.operation);
    if (!group) {
      group = { operation: row.operation, bars: [{ label: 'posix-semaphore', value: row.ours, ours: true }] };
      panel.groups.push(group);
    }
    group.bars.push({ label: row.peer, value: row.theirs, ours: false });
  }
  for (const panel of panels) {
    const values = panel.groups.flatMap((g) => g.bars.map((b) => b.value)).filter(drawable);
    // From the decade below the smallest value (so that every bar has a length) to the one at or above the largest.
    const lo = values.length ? Math.floor(Math.log10(Math.min(...values)) - 1e-9) : 0;
    panel.decades = [lo, Math.max(lo + 1, values.length ? Math.ceil(Math.log10(Math.max(...values))) : 1)];
  }
  return panels;
}

/**
 * The SVG of a bench table's compared rows.
 * rows: [{ operation, unit ('ns' | 'µs' | 'ms' | 's' | 'ops/s' | ...), ours, peer, theirs }], the figures as
 * numbers in that unit (one that is not > 0 reads n/a), each drawn to 3 digits ("761 µs", not "761306.9 ns").
 * options: { title, caption: [lines] }.
 */
function chart(rows, { title = 'posix-semaphore against its peers', caption = [] } = {}) {
  const panels = panelsOf(rows);
  const labels = panels.flatMap((p) => p.groups.flatMap((g) => g.bars.map((b) => plain(b.label))));
  const labelWidth = Math.ceil(Math.max(110, ...labels.map((l) => l.length * CHAR)));
  const x0 = PAD + labelWidth + 8;
  const width = x0 + BARS_WIDTH + FIGURE_WIDTH;
  const out = [];
  const text = (x, y, s, attrs = '') => out.push(`<text x="${round(x)}" y="${round(y)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`);
  const line = (x1, y1, x2, y2, colour) =>
    out.push(`<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" y2="${round(y2)}" stroke="${colour}"/>`);

  text(PAD, 30, plain(title), 'font-size="18" font-weight="600"');
  text(PAD, 50, 'Medians of repeated runs. Each panel has its own unit and log scale and says which way is better.', `fill="${COLOUR.muted}"`);
  const legend = [
    ['ours', 'posix-semaphore'],
    ['peer', 'peer, named on the left'],
  ];
  legend.forEach(([key, label], i) => {
    const x = PAD + i * 150;
    out.push(`<rect x="${x}" y="62" width="12" height="12" fill="${COLOUR[key]}"/>`);
    text(x + 18, 72.5, label);
  });

  let y = 100;
  if (panels.length === 0) text(PAD, (y += 20), 'No compared rows in this run.');
  for (const panel of panels) {
    const [lo, hi] = panel.decades;
    const x = (v) => x0 + ((Math.log10(v) - lo) / (hi - lo)) * BARS_WIDTH;
    const better = HIGHER_IS_BETTER.has(panel.unit) ? 'higher is better, the longer bar wins' : 'lower is better, the shorter bar wins';
    const what = panel.unit in NS_PER ? `time in ${panel.unit}` : panel.unit;
    text(PAD, (y += 16), `${what}, log scale: ${better}`, 'font-size="14" font-weight="600"');
    const top = y + 20;
    const rowsHeight = panel.groups.reduce((h, g) => h + 22 + g.bars.length * BAR.row, 0);
    const bottom = top + 6 + rowsHeight;
    for (let d = lo; d <= hi; d++) {
      for (let m = 2; d < hi && m < 10; m++) line(x(m * 10 ** d), top + 6, x(m * 10 ** d), bottom, COLOUR.minor);
      line(x(10 ** d), top + 6, x(10 ** d), bottom, COLOUR.grid);
      for (const at of [top, bottom + 14])
        text(x(10 ** d), at, withUnit(10 ** d, panel.unit), `font-size="11" fill="${COLOUR.muted}" text-anchor="middle"`);
    }
    y = top + 6;
    for (const group of panel.groups) {
      text(PAD, (y += 18), plain(group.operation), 'font-weight="600"');
      y += 4;
      for (const bar of group.bars) {
        const mid = y + BAR.row / 2;
        text(x0 - 8, mid + 4, plain(bar.label), `text-anchor="end"${bar.ours ? ' font-weight="600"' : ''}`);
        const figure = drawable(bar.value) ? withUnit(bar.value, panel.unit) : 'n/a';
        let end = x0;
        if (drawable(bar.value)) {
          end = x(bar.value);
          out.push(
            `<rect class="bar" x="${round(x0)}" y="${round(mid - BAR.height / 2)}" width="${round(end - x0)}" height="${BAR.height}" ` +
              `fill="${COLOUR[bar.ours ? 'ours' : 'peer']}"><title>${esc(`${plain(bar.label)}: ${figure}`)}</title></rect>`,
          );
        }
        text(end + 5, mid + 4, figure, `font-size="11"${bar.ours ? ' font-weight="600"' : ''}`);
        y += BAR.row;
      }
    }
    y = bottom + 28;
  }
  for (const c of caption) text(PAD, (y += 16), c, `font-size="11" fill="${COLOUR.muted}"`);
  const height = Math.ceil(y + PAD);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${esc(FONT)}" font-size="12" fill="${COLOUR.text}">`,
    `<title>${esc(plain(title))}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

module.exports = { chart, withUnit };
