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
