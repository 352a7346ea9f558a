import { describe, test } from 'node:test';
import { tf } from '../../../src/engine/tf';
import { assertGradParity, assertParity, randomInput } from '../../helpers/backends';

describe('native Softmax', () => {
  test('over the last axis of rank 1 to 4, odd sizes, with gradients', async () => {
    for (const shape of [[7], [3, 33], [2, 5, 17], [2, 3, 4, 129]]) {
      await assertGradParity(`softmax [${shape}]`, [randomInput(shape, 1, -5, 5)], (x) => tf.softmax(x));
    }
  });

  test('large logits, a single column and an empty batch', async () => {
    await assertParity('large', [randomInput([4, 8192], 2, -50, 50)], (x) => tf.softmax(x));
    await assertParity('one column', [randomInput([5, 1], 3)], (x) => tf.softmax(x));
    await assertParity('empty', [randomInput([0, 6], 4)], (x) => tf.softmax(x));
  });
});
