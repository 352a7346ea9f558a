import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart } from '../../src/report/bar_chart';

test('bar charts: a bar per series and group, whiskers for errors, a dashed reference, negative values below the axis, same bytes for the same input', () => {
  const chart = {
    title: 'scores', yLabel: 'score', series: ['a', 'b'], referenceLabel: 'majority',
    groups: [
      { label: 'x', values: [60, 70], errors: [5, 0], reference: 50 },
      { label: 'y', values: [-10, NaN], errors: [2, 2] },
    ],
  };
  const svg = barChart(chart);
  assert.equal(svg, barChart(chart));
  const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));
  assert.equal(bars.length, 3, 'a non-finite value draws no bar');
  const [x60, x70, neg] = bars;
  assert.ok(x70[3] > x60[3], 'a larger value is a taller bar');
  assert.ok(Math.abs(x70[3] / x60[3] - 70 / 60) < 0.02, 'heights are proportional from 0');
  assert.ok(neg[1] > x60[1] + x60[3] - 1, 'a negative bar hangs below the zero line');
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 2, 'whiskers where the error is not 0');
  assert.equal((svg.match(/stroke-dasharray="5 3"/g) ?? []).length, 1, 'one reference mark');
  for (const text of ['scores', '>a<', '>b<', '>majority<', '>x<', '>y<']) assert.ok(svg.includes(text), text);
});

test('bar charts: long legend names get rows of their own instead of running into each other', () => {
  const long = ['T5-M from scratch · ft_scratch', 'T5-M from scratch, random init', 'fuse(S, S\') grouped · ft_fused', 'self-fuse(S) · ft_self_fused'];
  const svg = barChart({ yLabel: 'score', series: long, groups: [{ label: 'a', values: [1, 2, 3, 4] }], referenceLabel: 'majority class' });
  const entries = [...svg.matchAll(/<g transform="translate\(([\d.]+) ([\d.]+)\)">/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  assert.equal(entries.length, 5);
  const longest = Math.max(...long.map((l) => l.length));
  for (const a of entries) {
    for (const b of entries) {
      if (a !== b && a.y === b.y) assert.ok(Math.abs(a.x - b.x) >= 7 * longest, `entries at ${a.x} and ${b.x} on one row overlap`);
    }
  }
  // The plot starts below the last legend row.
  const frameTop = Number(/<line x1="64" y1="([\d.]+)" x2="64"/.exec(svg)?.[1]);
  assert.ok(frameTop >= Math.max(...entries.map((e) => e.y)) + 12, 'legend above the plot');
});
