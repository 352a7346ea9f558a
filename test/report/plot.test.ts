import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatTick, lineChart, linearTicks, logTicks } from '../../src/report/plot';

describe('plot', () => {
  test('linear ticks are round and inside the range', () => {
    assert.deepEqual(linearTicks(0, 100), [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(linearTicks(1.03, 1.52), [1.1, 1.2, 1.3, 1.4, 1.5]);
    assert.deepEqual(linearTicks(-0.3, 0.3), [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3]);
  });

  test('log ticks are powers of ten, with 1-2-5 over short ranges', () => {
    assert.deepEqual(logTicks(1, 5000), [1, 10, 100, 1000]);
    assert.deepEqual(logTicks(100, 3000), [100, 200, 500, 1000, 2000]);
  });

  test('tick labels are short', () => {
    assert.deepEqual([0, 0.05, 2.5, 100, 1000, 20_000, 1_500_000, 4e9, 2.5e13, 3e15].map(formatTick), ['0', '0.05', '2.5', '100', '1000', '20K', '1.5M', '4G', '25T', '3P']);
    assert.deepEqual([1e-6, 2e-7, 5e-4, -3e-5, 1.5e-8].map(formatTick), ['1e-6', '2e-7', '5e-4', '-3e-5', '1.5e-8']);
  });

  test('a chart has one path per series, its legend, labels, ticks, and escapes text', () => {
    const svg = lineChart({
      title: 'loss <s & m>', xLabel: 'step', yLabel: 'validation loss',
      series: [
        { name: 'baseline', points: [[0, 5], [50, 3], [100, 2]] },
        { name: 'fused', points: [[0, 4], [100, 1.5], [Number.NaN, 1]], dashed: true },
        { name: 'empty', points: [] },
      ],
    });
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trimEnd().endsWith('</svg>'));
    assert.equal((svg.match(/<path /g) ?? []).length, 2);
    assert.equal((svg.match(/stroke-dasharray="6 4"/g) ?? []).length, 1);
    for (const text of ['loss &lt;s &amp; m&gt;', '>step<', '>validation loss<', '>baseline<', '>fused<', '>empty<', '>100<']) {
      assert.ok(svg.includes(text), text);
    }
    assert.ok(!svg.includes('NaN'));
    assert.equal(svg, lineChart({
      title: 'loss <s & m>', xLabel: 'step', yLabel: 'validation loss',
      series: [{ name: 'baseline', points: [[0, 5], [50, 3], [100, 2]] }, { name: 'fused', points: [[0, 4], [100, 1.5], [Number.NaN, 1]], dashed: true }, { name: 'empty', points: [] }],
    }), 'deterministic');
  });

  test('log x drops x ≤ 0 and labels decades', () => {
    const svg = lineChart({ xLabel: 'step', yLabel: 'loss', logX: true, series: [{ name: 'a', points: [[0, 9], [10, 3], [1000, 2], [100_000, 1]] }] });
    for (const label of ['>10<', '>100<', '>1000<', '>10K<', '>100K<']) assert.ok(svg.includes(label), label);
    assert.equal((svg.match(/<circle /g) ?? []).length, 3);
  });

  test('yMax ends the y axis there and clips the lines to the frame', () => {
    const svg = lineChart({ xLabel: 'step', yLabel: 'loss', yMax: 6, series: [{ name: 'a', points: [[0, 9.5], [1, 5.5], [2, 5]] }] });
    assert.ok(svg.includes('clip-path="url(#plot-area)"'));
    assert.ok(!svg.includes('>9<') && !svg.includes('>8<'), 'no ticks above yMax');
    assert.ok(svg.includes('>6<'));
  });

  test('a single point or no data still draws', () => {
    assert.ok(lineChart({ xLabel: 'x', yLabel: 'y', series: [{ name: 'one', points: [[3, 3]] }] }).includes('<circle'));
    assert.ok(lineChart({ xLabel: 'x', yLabel: 'y', series: [] }).includes('</svg>'));
  });
  test('the legend sits in the corner with the fewest points, and a series without a name has no entry', () => {
    const legendBox = (svg: string): { x: number; y: number } => {
      const m = /<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="[\d.]+" fill="white" fill-opacity/.exec(svg);
      assert.ok(m, 'a legend box');
      return { x: Number(m[1]), y: Number(m[2]) };
    };
    // A rising curve fills the top right: the legend goes to the bottom right.
    const rising = lineChart({ xLabel: 'x', yLabel: 'y', series: [{ name: 'up', points: Array.from({ length: 30 }, (_, i) => [i, i * i] as [number, number]) }] });
    const up = legendBox(rising);
    assert.ok(up.x > 320 && up.y > 200, `bottom right, got ${JSON.stringify(up)}`);
    // A falling one leaves the top right free: the default corner.
    const falling = lineChart({ xLabel: 'x', yLabel: 'y', series: [{ name: 'down', points: Array.from({ length: 30 }, (_, i) => [i, 900 - i * i] as [number, number]) }] });
    const down = legendBox(falling);
    assert.ok(down.x > 320 && down.y < 100, `top right, got ${JSON.stringify(down)}`);
    const band = lineChart({ xLabel: 'x', yLabel: 'y', series: [{ name: 'mean', points: [[0, 1], [1, 2]] }, { name: 'mean ± std', points: [[0, 1.5], [1, 2.5]], dashed: true }, { name: '', points: [[0, 0.5], [1, 1.5]], dashed: true }] });
    assert.equal((band.match(/<path /g) ?? []).length, 3, 'all three lines are drawn');
    assert.equal((band.match(/<text x="[\d.]+" y="[\d.]+" font-family="sans-serif" font-size="12">[^<]*<\/text>/g) ?? []).filter((t) => /mean/.test(t)).length, 2, 'two legend entries');
    assert.ok(!/<text [^>]*><\/text>/.test(band), 'no empty legend label');
  });
});
