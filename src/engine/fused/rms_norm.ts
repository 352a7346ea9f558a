// RMSNorm over the last axis, optionally per group of features (`norm_groups`, docs/t5.md):
// y = w * x / sqrt(mean(x_g²) + eps) where the mean runs over the group g holding the feature.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';

export const RMS_NORM = 'DfRmsNorm';
export const RMS_NORM_GRAD = 'DfRmsNormGrad';

export interface RmsNormAttrs {
  /** Sizes of consecutive feature groups; they sum to the last dimension. */
  groups: number[];
  eps: number;
  /**
   * Only matrix products read the output: with bf16 products the native backend then stores it
   * in bf16 (src/engine/native/backend.ts). The values the products see are the same.
   */
  productsOnly?: boolean;
}

/** Reference arithmetic (float64 accumulation) shared by the cpu kernel and parity tests. */
export function rmsNormForward(x: Float32Array, weight: Float32Array, attrs: RmsNormAttrs): Float32Array {
  const d = weight.length;
  const y = new Float32Array(x.length);
  for (let row = 0; row < x.length; row += d) {
    let start = row;
    for (const size of attrs.groups) {
      let ss = 0;
      for (let i = start; i < start + size; i++) ss += x[i] * x[i];
      const inv = 1 / Math.sqrt(ss / size + attrs.eps);
      for (let i = start; i < start + size; i++) y[i] = weight[i - row] * x[i] * inv;
      start += size;
    }
  }
  return y;
}

export function rmsNormBackward(
  dy: Float32Array, x: Float32Array, weight: Float32Array, attrs: RmsNormAttrs,
): { dx: Float32Array; dWeight: Float32Array } {
  const d = weight.length;
  const dx = new Float32Array(x.length);
  const dw = new Float64Array(d);
  for (let row = 0; row < x.length; row += d) {
    let start = row;
    for (const size of attrs.groups) {
      let ss = 0;
      for (let i = start; i < start + size; i++) ss += x[i] * x[i];
      const inv = 1 / Math.sqrt(ss / size + attrs.eps);
      // dL/dx = inv * (g - xhat * mean(g * xhat)) with g = dy * w and xhat = x * inv.
      let dot = 0;
      for (let i = start; i < start + size; i++) {
        const xhat = x[i] * inv;
        dot += dy[i] * weight[i - row] * xhat;
        dw[i - row] += dy[i] * xhat;
      }
      const meanDot = dot / size;
      for (let i = start; i < start + size; i++) {
        dx[i] = inv * (dy[i] * weight[i - row] - x[i] * inv * meanDot);
      }
      start += size;
    }
  }
  return { dx, dWeight: Float32Array.from(dw) };
}

/** RMSNorm of `x [..., d]` with weight `[d]`; `groups` defaults to one group of all features. */
export function rmsNorm(x: Tensor, weight: Tensor, opts: { groups?: number[]; eps: number; productsOnly?: boolean }): Tensor {
  const d = weight.shape[0];
  const groups = opts.groups ?? [d];
  if (x.shape[x.rank - 1] !== d || groups.reduce((a, b) => a + b, 0) !== d) {
    throw new Error(`rmsNorm: last axis ${x.shape[x.rank - 1]}, weight [${d}] and groups [${groups}] disagree`);
  }
  const attrs: RmsNormAttrs = { groups, eps: opts.eps, productsOnly: Boolean(opts.productsOnly) };
  return tf.engine().runKernel(RMS_NORM, { x, weight }, attrs as unknown as tf.NamedAttrMap) as Tensor;
}

const cpuForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const y = rmsNormForward(
    readFloat32(backend, input(inputs, 'x')), readFloat32(backend, input(inputs, 'weight')), attrs as unknown as RmsNormAttrs);
  return makeFloat32(backend, input(inputs, 'x').shape, y);
};

const cpuBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dx, dWeight } = rmsNormBackward(
    readFloat32(backend, input(inputs, 'dy')), readFloat32(backend, input(inputs, 'x')), readFloat32(backend, input(inputs, 'weight')),
    attrs as unknown as RmsNormAttrs);
  return [makeFloat32(backend, input(inputs, 'x').shape, dx), makeFloat32(backend, input(inputs, 'weight').shape, dWeight)];
};

export const rmsNormKernels = [
  { kernelName: RMS_NORM, kernelFunc: cpuForward },
  { kernelName: RMS_NORM_GRAD, kernelFunc: cpuBackward },
];

export const rmsNormGradient: tf.GradConfig = {
  kernelName: RMS_NORM,
  inputsToSave: ['x', 'weight'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved;
    const [dx, dWeight] = tf.engine().runKernel(
      RMS_NORM_GRAD, { dy: dy as Tensor, x, weight }, attrs) as Tensor[];
    return { x: () => dx, weight: () => dWeight };
  },
};
