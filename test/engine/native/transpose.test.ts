import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { tf } from '../../../src/engine/tf';
import { assertGradParity, assertParity, NATIVE, randomInput } from '../../helpers/backends';

/** All permutations of [0, n). */
function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('native Transpose', () => {
  for (const shape of [[33, 65], [3, 5, 7], [2, 3, 4, 5], [2, 1, 3, 1, 4]]) {
    test(`every permutation of [${shape}], with gradients`, async () => {
      for (const perm of permutations(shape.length)) {
        await assertGradParity(`perm [${perm}]`, [randomInput(shape, 1)], (x) => tf.transpose(x, perm));
      }
    });
  }

  test('attention head split and merge at training size', async () => {
    await assertParity('split heads', [randomInput([4, 128, 8, 64], 2)], (x) => tf.transpose(x, [0, 2, 1, 3]));
    await assertParity('2-D large', [randomInput([513, 1031], 3)], (x) => tf.transpose(x));
  });

  test('empty tensors and permutations that move nothing', async () => {
    await assertParity('empty', [randomInput([0, 3, 2], 4)], (x) => tf.transpose(x, [2, 0, 1]));
    await assertParity('size-1 swap', [randomInput([1, 5, 1], 5)], (x) => tf.transpose(x, [2, 1, 0]));
  });

  test('a permutation that moves nothing shares storage yet outlives its input', async () => {
    await initEngine(NATIVE);
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [1, 6, 1]);
    const y = tf.transpose(x, [2, 1, 0]);
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(y.shape, [1, 6, 1]);
    y.dispose();
  });
});
