import { describe, test } from 'node:test';
import { tf, type Tensor } from '../../../src/engine/tf';
import { assertGradParity, assertParity, randomInput, type Input } from '../../helpers/backends';

type Reduce = (x: Tensor, axis?: number | number[], keepDims?: boolean) => Tensor;

const REDUCTIONS: Record<string, Reduce> = { sum: tf.sum, mean: tf.mean, max: tf.max, min: tf.min, prod: tf.prod };

/** Axes to reduce over a [3, 4, 5, 6] tensor: single, adjacent, apart, all, negative. */
const AXES: Array<number | number[] | undefined> = [0, 1, 2, 3, -1, [0, 1], [1, 2], [2, 3], [0, 2], [1, 3], [0, 3], [0, 1, 2, 3], undefined];

describe('native reductions', () => {
  for (const [name, op] of Object.entries(REDUCTIONS)) {
    test(`${name} over every axis pattern, with keepDims, with gradients`, async () => {
      // prod stays well-conditioned on values near ±1.
      const x = name === 'prod' ? randomInput([3, 4, 5, 6], 1, 0.8, 1.2) : randomInput([3, 4, 5, 6], 1);
      for (const axis of AXES) {
        for (const keepDims of [false, true]) {
          const what = `${name} axis=${JSON.stringify(axis)} keepDims=${keepDims}`;
          if (name === 'prod') await assertParity(what, [x], (t) => op(t, axis, keepDims), 1e-5);
          else await assertGradParity(what, [x], (t) => op(t, axis, keepDims), 1e-5);
        }
      }
    });

    test(`${name}: size-1 axes, long rows, empty inputs`, async () => {
      await assertParity(`${name} size-1`, [randomInput([1, 7, 1, 3], 2)], (t) => op(t, [0, 2]));
      await assertParity(`${name} size-1 apart`, [randomInput([2, 1, 3, 1, 4], 3)], (t) => op(t, [1, 2, 3]));
      await assertParity(`${name} long`, [randomInput([3, 100003], 4, 0.99, 1.01)], (t) => op(t, 1));
      await assertParity(`${name} columns`, [randomInput([1000, 300], 5, 0.99, 1.01)], (t) => op(t, 0));
      await assertParity(`${name} empty kept`, [randomInput([0, 3], 6)], (t) => op(t, 1));
      if (name === 'sum' || name === 'prod') await assertParity(`${name} empty reduced`, [randomInput([0, 3], 6)], (t) => op(t, 0));
    });
  }

  test('max and min propagate NaN like the reference', async () => {
    const x: Input = { shape: [2, 3], values: Float32Array.from([1, NaN, 3, 4, 5, 6]) };
    await assertParity('max NaN', [x], (t) => tf.max(t, 1));
    await assertParity('min NaN', [x], (t) => tf.min(t, 0));
  });
});
