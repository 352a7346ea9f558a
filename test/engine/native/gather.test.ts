import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { tf } from '../../../src/engine/tf';
import { assertGradParity, assertParity, intInput, NATIVE, randomInput } from '../../helpers/backends';

describe('native GatherV2 and UnsortedSegmentSum', () => {
  test('gather along each axis with 1-D and 2-D indices (repeats included), with gradients', async () => {
    const params = randomInput([5, 4, 3], 1);
    for (const axis of [0, 1, 2]) {
      const size = params.shape[axis];
      const flat = intInput([6], [0, size - 1, 1, 0, size - 1, 0]);
      const grid = intInput([2, 3], [size - 1, 0, 1, 1, 0, size - 1]);
      await assertGradParity(`axis ${axis} 1-D`, [params, flat], (p, i) => tf.gather(p, i, axis));
      await assertGradParity(`axis ${axis} 2-D`, [params, grid], (p, i) => tf.gather(p, i, axis));
    }
  });

  test('embedding-shaped lookup and its gradient', async () => {
    const ids = Array.from({ length: 64 * 9 }, (_, i) => (i * 37) % 101);
    await assertGradParity('embedding', [randomInput([101, 48], 2), intInput([64, 9], ids)], (p, i) => tf.gather(p, i));
  });

  test('empty indices and a scalar index', async () => {
    await assertParity('empty', [randomInput([4, 3], 3), intInput([0], [])], (p, i) => tf.gather(p, i));
    await assertParity('scalar', [randomInput([4, 3], 3), intInput([], [2])], (p, i) => tf.gather(p, i, 1));
  });

  test('an index out of range is refused with the reference message', async () => {
    await initEngine(NATIVE);
    const p = tf.zeros([3, 2]);
    const i = tf.tensor1d([0, 3], 'int32');
    assert.throws(() => tf.gather(p, i), /GatherV2: the index value 3 is not in \[0, 2\]/);
    tf.dispose([p, i]);
  });

  test('unsortedSegmentSum: repeated, missing and out-of-range segment ids', async () => {
    const data = randomInput([7, 5], 4);
    const ids = intInput([7], [2, 0, 2, 5, -1, 0, 9]);
    await assertParity('segments', [data, ids], (d, s) => tf.unsortedSegmentSum(d, s as tf.Tensor1D, 6));
    await assertParity('rank-3 data', [randomInput([4, 3, 2], 5), intInput([4], [0, 2, 0, 1])],
      (d, s) => tf.unsortedSegmentSum(d, s as tf.Tensor1D, 3));
  });
});
