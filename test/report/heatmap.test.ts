import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { absQuantile, divergingColor, heatmapGrid } from '../../src/report/heatmap';
import { crc32, encodePng } from '../../src/report/png';

/** The chunks of a PNG file: type and data, checking each CRC. */
function chunks(png: Buffer): Array<{ type: string; data: Buffer }> {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out: Array<{ type: string; data: Buffer }> = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const body = png.subarray(at + 4, at + 8 + length);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(body));
    out.push({ type: body.subarray(0, 4).toString('ascii'), data: body.subarray(4) });
    at += 12 + length;
  }
  return out;
}

describe('PNG and heat maps', () => {
  test('CRC-32 as PNG defines it', () => {
    assert.equal(crc32(Buffer.from('IEND')), 0xae426082);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  test('a PNG holds the pixels it was given', () => {
    const rgb = Uint8Array.from({ length: 3 * 5 * 2 }, (_, i) => (i * 37) % 256);
    const c = chunks(encodePng(5, 2, rgb));
    assert.deepEqual(c.map((x) => x.type), ['IHDR', 'IDAT', 'IEND']);
    assert.deepEqual([c[0].data.readUInt32BE(0), c[0].data.readUInt32BE(4), c[0].data[8], c[0].data[9]], [5, 2, 8, 2]);
    const raw = inflateSync(c[1].data);
    assert.deepEqual([raw[0], raw[16]], [0, 0], 'filter byte 0 on each row');
    assert.deepEqual([...raw.subarray(1, 16), ...raw.subarray(17)], [...rgb]);
    assert.throws(() => encodePng(5, 3, rgb), /do not make 5 × 3/);
  });

  test('the colour scale is white at 0, blue below, red above, clamped', () => {
    assert.deepEqual(divergingColor(0), [247, 247, 247]);
    assert.deepEqual(divergingColor(-1), [33, 102, 172]);
    assert.deepEqual(divergingColor(5), [178, 24, 43]);
    assert.ok(divergingColor(0.5)[0] > divergingColor(0.5)[2]);
  });

  test('a grid has one image per panel plus the colour bar, block lines, labels, and is deterministic', () => {
    const panel = (v: number) => ({ values: Float64Array.from({ length: 16 }, (_, i) => v * (i - 8)), rows: 4, cols: 4, caption: `d ${v}` });
    const grid = {
      title: 'wi <kernel>', rowLabels: ['high lr', 'low lr'], colLabels: ['step 0', 'step 50'],
      panels: [[panel(1), panel(2)], [panel(3), null]], rowBreaks: [2], colBreaks: [2], colorLabel: 'weight',
    };
    const svg = heatmapGrid(grid);
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trimEnd().endsWith('</svg>'));
    assert.equal((svg.match(/<image /g) ?? []).length, 3 + 1);
    assert.equal((svg.match(/stroke="black" stroke-width="1"/g) ?? []).length, 3 * 2);
    assert.match(svg, /wi &lt;kernel&gt;/);
    assert.match(svg, />high lr</);
    assert.match(svg, />d 3</);
    assert.equal(heatmapGrid(grid), svg);
    assert.equal(absQuantile(grid.panels.flat(), 1), 24);
  });
});
