import { describe, test } from 'node:test';
import { tf, type Tensor } from '../../../src/engine/tf';
import { assertGradParity, assertParity, randomInput } from '../../helpers/backends';

const transposes: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

/** Operand shapes for op(a)·op(b) of [m, k]·[k, n] with leading batch dims. */
function operands(batchA: number[], batchB: number[], m: number, n: number, k: number, ta: boolean, tb: boolean): number[][] {
  return [[...batchA, ...(ta ? [k, m] : [m, k])], [...batchB, ...(tb ? [n, k] : [k, n])]];
}

describe('native BatchMatMul', () => {
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 48, 32], [1, 65, 130], [129, 1, 31], [200, 150, 120],
  ];
  for (const [m, n, k] of sizes) {
    for (const [ta, tb] of transposes) {
      test(`[${m}x${k}]·[${k}x${n}] transposeA=${ta} transposeB=${tb}: values and gradients`, async () => {
        const [sa, sb] = operands([], [], m, n, k, ta, tb);
        await assertGradParity('matMul', [randomInput(sa, 1), randomInput(sb, 2)],
          (a, b) => tf.matMul(a, b, ta, tb), 1e-5);
      });
    }
  }

  test('batched rank 3 and rank 4 (attention-shaped), all transposes, with gradients', async () => {
    for (const [ta, tb] of transposes) {
      const [sa, sb] = operands([3], [3], 5, 6, 4, ta, tb);
      await assertGradParity('rank-3', [randomInput(sa, 3), randomInput(sb, 4)], (a, b) => tf.matMul(a, b, ta, tb));
      const [qa, qb] = operands([2, 3], [2, 3], 7, 5, 8, ta, tb);
      await assertGradParity('rank-4', [randomInput(qa, 5), randomInput(qb, 6)], (a, b) => tf.matMul(a, b, ta, tb));
    }
  });

  // Values only: tfjs's BatchMatMul gradient does not reduce broadcast batch axes on any backend.
  test('batch broadcasting: one side has batch 1', async () => {
    await assertParity('a broadcast', [randomInput([1, 4, 3], 7), randomInput([5, 3, 2], 8)], (a, b) => tf.matMul(a, b));
    await assertParity('b broadcast', [randomInput([5, 4, 3], 9), randomInput([3, 2], 10)], (a, b) => tf.matMul(a, b));
    await assertParity('b broadcast, transposed', [randomInput([2, 3, 4, 3], 11), randomInput([1, 1, 2, 3], 12)],
      (a, b) => tf.matMul(a, b, false, true));
  });

  test('many small products run in parallel over the batch', async () => {
    await assertParity('batch 128', [randomInput([128, 16, 8], 13), randomInput([128, 16, 8], 14)],
      (a, b) => tf.matMul(a, b, false, true));
  });

  test('empty operands: m, n or batch of 0 give empty results, k = 0 gives zeros', async () => {
    await assertParity('m = 0', [randomInput([0, 3], 15), randomInput([3, 4], 16)], (a, b) => tf.matMul(a, b));
    await assertParity('n = 0', [randomInput([2, 3], 17), randomInput([3, 0], 18)], (a, b) => tf.matMul(a, b));
    await assertParity('k = 0', [randomInput([2, 0], 19), randomInput([0, 4], 20)], (a, b) => tf.matMul(a, b));
    await assertParity('batch 0', [randomInput([0, 2, 3], 21), randomInput([0, 3, 4], 22)], (a, b) => tf.matMul(a, b));
  });
});

describe('native _FusedMatMul', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;
  for (const activation of activations) {
    test(`bias + ${activation}, with gradients`, async () => {
      await assertGradParity(`fused ${activation}`, [randomInput([6, 5], 23), randomInput([4, 5], 24), randomInput([4], 25)],
        (a, b, bias) => tf.fused.matMul({ a, b, transposeB: true, bias, activation, leakyreluAlpha: 0.1 }));
    });
  }

  test('without bias, transposed a, batched', async () => {
    await assertParity('fused no bias', [randomInput([2, 5, 6], 26), randomInput([2, 5, 3], 27)],
      (a, b) => tf.fused.matMul({ a, b, transposeA: true, activation: 'relu' }) as Tensor);
  });

  test('prelu falls back to the reference kernel', async () => {
    await assertParity('fused prelu', [randomInput([3, 4], 28), randomInput([4, 2], 29), randomInput([2], 30)],
      (a, b, alpha) => tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: alpha }));
  });
});
