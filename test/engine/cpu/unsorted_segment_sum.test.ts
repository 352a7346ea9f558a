import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { segmentSum } from '../../../src/engine/cpu/unsorted_segment_sum';
import { tf } from '../../../src/engine/tf';
import { randomValues } from '../../helpers/backends';

/**
 * What tfjs's own cpu kernel computes, op for op: per segment s, sum over axis 0 of
 * cast(ids = s) · x (ids broadcast over x's trailing axes), stacked.
 */
function maskedReference(x: tf.Tensor, ids: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const flatIds = ids.reshape([ids.size]);
    const rows = x.reshape([ids.size, -1]);
    const mask = (s: number): tf.Tensor => tf.cast(tf.equal(flatIds.expandDims(1), tf.scalar(s, 'int32')), 'float32');
    const sums = Array.from({ length: numSegments }, (_, s) => tf.sum(tf.mul(mask(s), rows), 0));
    return tf.stack(sums).reshape([numSegments, ...x.shape.slice(ids.shape.length)]);
  });
}

function sameBits(ours: tf.Tensor, ref: tf.Tensor, what: string): void {
  assert.deepEqual(ours.shape, ref.shape, `${what}: shape`);
  assert.equal(ours.dtype, ref.dtype, `${what}: dtype`);
  const a = ours.dataSync() as Float32Array;
  const b = ref.dataSync() as Float32Array;
  for (let i = 0; i < b.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

describe('UnsortedSegmentSum on cpu', () => {
  before(async () => { await initEngine('cpu'); });

  test('the same bits as the masked sums of tfjs\'s kernel: repeated, missing and out-of-range ids, rank-2 ids', () => {
    tf.tidy(() => {
      const cases: Array<{ x: number[]; ids: number[]; idShape: number[]; segments: number }> = [
        { x: [5, 3], ids: [2, 0, 2, 7, -1], idShape: [5], segments: 4 },
        { x: [6], ids: [1, 1, 1, 0, 1, 1], idShape: [6], segments: 3 },
        { x: [2, 3, 4], ids: [4, 1, 4, 0, 0, 4], idShape: [2, 3], segments: 6 },
        { x: [300, 16], ids: Array.from({ length: 300 }, (_, i) => (i * 37) % 50), idShape: [300], segments: 50 },
      ];
      for (const [k, c] of cases.entries()) {
        const x = tf.tensor(randomValues(c.x.reduce((a, b) => a * b, 1), k + 1, -1e3, 1e3), c.x);
        const ids = tf.tensor(c.ids, c.idShape, 'int32');
        sameBits(tf.unsortedSegmentSum(x, ids as tf.Tensor1D, c.segments), maskedReference(x, ids, c.segments), `case ${k}`);
      }
    });
  });

  test('int32 data sums to float32, as in the reference', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]], undefined, 'int32');
      const ids = tf.tensor1d([0, 2, 0], 'int32');
      sameBits(tf.unsortedSegmentSum(x, ids, 3), maskedReference(x, ids, 3), 'int32');
    });
  });

  test('±Infinity and NaN: NaN in the other segments of their column, as 0 · x makes it in the reference', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, Infinity, 2], [NaN, 4, 3], [5, 6, -Infinity], [7, -Infinity, 1]]);
      const ids = tf.tensor1d([0, 2, 9, 0], 'int32');
      sameBits(tf.unsortedSegmentSum(x, ids, 3), maskedReference(x, ids, 3), 'non-finite');
    });
  });

  test('linear in the data: an embedding gradient over an 8192-id vocabulary is one pass', () => {
    const ids = Int32Array.from({ length: 2048 }, (_, i) => (i * 131) % 8192);
    const out = segmentSum(new Float32Array(2048 * 4).fill(1), ids, 4, 8192);
    assert.equal(out.length, 8192 * 4);
    assert.equal(out.reduce((a, b) => a + b, 0), 2048 * 4);
  });
});
