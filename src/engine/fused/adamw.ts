// One AdamW update of a parameter, fused: the new parameter and both moments in one pass over
// memory instead of the ~14 elementwise ops (each a full pass) an op-by-op Adam costs. Decoupled
// weight decay as in PyTorch's AdamW; weightDecay 0 is Adam (tf.train.adam's formula).
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';

export const ADAMW = 'DfAdamW';

export interface AdamWAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 1-based number of this update (bias correction). */
  step: number;
  /** Factor the gradient is multiplied by first (global-norm clipping). */
  gradScale: number;
}

export interface AdamWState {
  param: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/**
 * Reference arithmetic (float64 per element, g = grad·gradScale rounded to float32 as a tf.mul would):
 * m' = β1·m + (1−β1)·g;  v' = β2·v + (1−β2)·g²;
 * p' = p·(1 − lr·wd) − lr·(m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε).
 */
export function adamwForward(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  a: AdamWAttrs): AdamWState {
  const out: AdamWState = {
    param: new Float32Array(param.length), m: new Float32Array(param.length), v: new Float32Array(param.length),
  };
  const c1 = 1 - a.beta1 ** a.step;
  const c2 = 1 - a.beta2 ** a.step;
  for (let i = 0; i < param.length; i++) {
    const g = Math.fround(grad[i] * a.gradScale);
    const mi = a.beta1 * m[i] + (1 - a.beta1) * g;
    const vi = a.beta2 * v[i] + (1 - a.beta2) * g * g;
    out.m[i] = mi;
    out.v[i] = vi;
    out.param[i] = param[i] * (1 - a.learningRate * a.weightDecay) - a.learningRate * (mi / c1) / (Math.sqrt(vi / c2) + a.epsilon);
  }
  return out;
}

/** The updated parameter and moments (new tensors; the inputs are left as they are). */
export function adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, attrs: AdamWAttrs):
  { param: Tensor; m: Tensor; v: Tensor } {
  for (const [name, t] of [['grad', grad], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, param.shape)) {
      throw new Error(`adamwUpdate: ${name} [${t.shape}] does not match the parameter [${param.shape}]`);
    }
  }
  if (!Number.isInteger(attrs.step) || attrs.step < 1) throw new Error(`adamwUpdate: step must be an integer ≥ 1, got ${attrs.step}`);
  const [p, m2, v2] = tf.engine().runKernel(ADAMW, { param, grad, m, v }, attrs as unknown as tf.NamedAttrMap) as Tensor[];
  return { param: p, m: m2, v: v2 };
}

const cpuForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const shape = input(inputs, 'param').shape;
  const r = adamwForward(readFloat32(backend, input(inputs, 'param')), readFloat32(backend, input(inputs, 'grad')),
    readFloat32(backend, input(inputs, 'm')), readFloat32(backend, input(inputs, 'v')), attrs as unknown as AdamWAttrs);
  return [makeFloat32(backend, shape, r.param), makeFloat32(backend, shape, r.m), makeFloat32(backend, shape, r.v)];
};

export const adamwKernels = [{ kernelName: ADAMW, kernelFunc: cpuForward }];
