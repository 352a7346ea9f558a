// Runs the same computation on tfjs's cpu backend (the reference) and on the native backend,
// from the same input values, and compares what comes out.
import assert from 'node:assert/strict';
import { initEngine } from '../../src/engine/backend';
import { tf, type Tensor } from '../../src/engine/tf';
import { Rng } from '../../src/util/rng';
import { assertClose } from './compare';

export const REFERENCE = 'cpu';
export const NATIVE = 'native';

/** Backends the backend-sensitive tests run on: $DEEPFUSION_TEST_BACKENDS (npm test: cpu,native), else cpu. */
export const TEST_BACKENDS = (process.env.DEEPFUSION_TEST_BACKENDS ?? REFERENCE).split(',');

/** Deterministic values in [lo, hi), so failures reproduce. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

export interface Input {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

export function randomInput(shape: number[], seed: number, lo = -1, hi = 1): Input {
  return { shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seed, lo, hi) };
}

export function intInput(shape: number[], values: number[]): Input {
  return { shape, values: Int32Array.from(values), dtype: 'int32' };
}

export interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/** `fn` on `backend` over fresh tensors of `inputs`; every tensor it made is disposed. */
export async function runOn(backend: string, inputs: Input[], fn: (...xs: Tensor[]) => Tensor | Tensor[]): Promise<Result[]> {
  await initEngine(backend);
  const before = tf.memory().numTensors;
  const results = tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.values.slice(), i.shape, i.dtype ?? 'float32'));
    const out = fn(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, values: t.dataSync().slice() as Result['values'] }));
  });
  assert.equal(tf.memory().numTensors, before, `${backend}: the computation leaked tensors`);
  return results;
}

/** Asserts the native backend computes what the cpu backend computes (shapes exactly, values to `tol`). */
export async function assertParity(what: string, inputs: Input[], fn: (...xs: Tensor[]) => Tensor | Tensor[], tol = 1e-5):
  Promise<void> {
  const ref = await runOn(REFERENCE, inputs, fn);
  const ours = await runOn(NATIVE, inputs, fn);
  assert.equal(ours.length, ref.length, `${what}: number of outputs`);
  ref.forEach((r, i) => {
    assert.deepEqual(ours[i].shape, r.shape, `${what}: output ${i} shape`);
    assertSameValues(ours[i].values, r.values, tol, `${what}: output ${i}`);
  });
}

/** Values equal to `tol` (relative, as a whole), with NaN and ±Infinity in the same places. */
export function assertSameValues(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(ours.length, ref.length, `${what}: length`);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(ref[i]) || !Number.isFinite(ours[i])) {
      assert.ok(Object.is(ours[i], ref[i]) || (Number.isNaN(ours[i]) && Number.isNaN(ref[i])),
        `${what}: element ${i} is ${ours[i]}, expected ${ref[i]}`);
    } else {
      a.push(ours[i]);
      b.push(ref[i]);
    }
  }
  assertClose(a, b, tol, what);
}

/** Values and the gradient of sum(fn(xs) · w) with respect to every float input, on both backends. */
export async function assertGradParity(what: string, inputs: Input[], fn: (...xs: Tensor[]) => Tensor, tol = 1e-5):
  Promise<void> {
  await assertParity(what, inputs, fn, tol);
  const withGrads = (...xs: Tensor[]): Tensor[] => {
    const probe = (...ys: Tensor[]): Tensor => {
      const y = fn(...ys);
      // A fixed, non-uniform cotangent, so no gradient term can cancel out unnoticed.
      const w = tf.tensor(randomValues(y.size, 99, 0.5, 1.5), y.shape);
      return tf.sum(tf.mul(y, w));
    };
    const floats = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
    const ofFloats = (...fs: Tensor[]): Tensor => probe(...xs.map((x, i) => (floats.includes(i) ? fs[floats.indexOf(i)] : x)));
    return tf.grads(ofFloats)(floats.map((i) => xs[i]));
  };
  await assertParity(`${what} (gradients)`, inputs, withGrads, tol);
}
