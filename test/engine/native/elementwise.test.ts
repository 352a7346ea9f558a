import { describe, test } from 'node:test';
import { tf, type Tensor } from '../../../src/engine/tf';
import { assertGradParity, assertParity, randomInput, type Input } from '../../helpers/backends';

type Binary = (a: Tensor, b: Tensor) => Tensor;

const BINARY: Record<string, Binary> = {
  add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum,
  squaredDifference: tf.squaredDifference,
};

const REDUCING_GRADIENTS = new Set(['add', 'sub', 'mul', 'div']);

/** Shape pairs covering same shape, scalars, every broadcast pattern, odd and size-1/empty dims. */
const SHAPES: Array<[number[], number[]]> = [
  [[7], [7]], [[], [5]], [[5], []], [[3, 1, 5], [4, 5]], [[1], [2, 3]], [[2, 1], [1, 3]], [[4, 3], [3]],
  [[4, 3], [4, 1]], [[2, 3, 4, 5, 6], [3, 1, 5, 1]], [[1, 1, 1], [1, 1, 1]], [[0, 3], [3]], [[2, 0], [2, 1]],
  [[33, 1000], [33, 1000]], [[70000], [1]],
];

describe('native binary elementwise ops', () => {
  for (const [name, op] of Object.entries(BINARY)) {
    test(`${name}: broadcasting, odd, size-1 and empty shapes, with gradients`, async () => {
      for (const [sa, sb] of SHAPES) {
        // Denominators away from zero so the reference and we agree on well-conditioned values.
        const b = name === 'div' ? randomInput(sb, 2, 0.5, 2) : randomInput(sb, 2);
        const inputs: Input[] = [randomInput(sa, 1), b];
        const empty = sa.includes(0) || sb.includes(0);
        // tfjs's gradients of maximum, minimum and squaredDifference do not reduce broadcast axes
        // (on any backend), so those are checked for values only when the shapes differ.
        const gradients = !empty && (REDUCING_GRADIENTS.has(name) || sa.join() === sb.join());
        if (gradients) await assertGradParity(`${name} [${sa}] [${sb}]`, inputs, op);
        else await assertParity(`${name} [${sa}] [${sb}]`, inputs, op);
      }
    });
  }

  test('pow on positive bases', async () => {
    await assertGradParity('pow', [randomInput([4, 5], 3, 0.5, 2), randomInput([5], 4, -2, 2)], tf.pow);
  });

  test('maximum and minimum propagate NaN like the reference', async () => {
    const a: Input = { shape: [4], values: Float32Array.from([NaN, 1, 2, NaN]) };
    const b: Input = { shape: [4], values: Float32Array.from([0, NaN, 1, NaN]) };
    await assertParity('maximum NaN', [a, b], tf.maximum);
    await assertParity('minimum NaN', [a, b], tf.minimum);
  });

  test('int32 operands fall back to the reference kernels', async () => {
    const a: Input = { shape: [3], values: Int32Array.from([1, 2, 3]), dtype: 'int32' };
    await assertParity('int add', [a, a], tf.add);
  });
});

type Unary = (x: Tensor) => Tensor;

/** Each unary op with the input range it is defined on. */
const UNARY: Array<[string, Unary, number, number]> = [
  ['neg', tf.neg, -3, 3], ['exp', tf.exp, -10, 10], ['log', tf.log, 0.01, 5], ['sqrt', tf.sqrt, 0.01, 5],
  ['rsqrt', tf.rsqrt, 0.01, 5], ['square', tf.square, -3, 3], ['reciprocal', tf.reciprocal, 0.2, 4],
  ['abs', tf.abs, -3, 3], ['relu', tf.relu, -3, 3], ['relu6', tf.relu6, -3, 9], ['sign', tf.sign, -3, 3],
  ['tanh', tf.tanh, -6, 6], ['sigmoid', tf.sigmoid, -8, 8], ['log1p', tf.log1p, -0.5, 5], ['expm1', tf.expm1, -3, 3],
  ['floor', tf.floor, -3, 3], ['ceil', tf.ceil, -3, 3], ['elu', tf.elu, -3, 3], ['softplus', tf.softplus, -10, 10],
  ['step(0.3)', (x) => tf.step(x, 0.3), -3, 3], ['leakyRelu(0.1)', (x) => tf.leakyRelu(x, 0.1), -3, 3],
];

describe('native unary elementwise ops', () => {
  for (const [name, op, lo, hi] of UNARY) {
    test(`${name}: values and gradient over odd, large and empty shapes`, async () => {
      await assertGradParity(name, [randomInput([37, 29], 5, lo, hi)], op);
      await assertParity(`${name} large`, [randomInput([100003], 6, lo, hi)], op);
      await assertParity(`${name} empty`, [randomInput([0, 4], 7, lo, hi)], op);
      await assertParity(`${name} scalar`, [randomInput([], 8, lo, hi)], op);
    });
  }

  test('special values: NaN, ±Infinity, ±0 and the exp range ends', async () => {
    const x: Input = { shape: [10], values: Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 88, -87, -100, 100, 1e-30]) };
    for (const [name, op] of [['exp', tf.exp], ['relu', tf.relu], ['tanh', tf.tanh], ['sigmoid', tf.sigmoid], ['neg', tf.neg],
      ['abs', tf.abs], ['sign', tf.sign], ['step', tf.step]] as Array<[string, Unary]>) {
      await assertParity(`${name} special`, [x], op);
    }
  });
});
