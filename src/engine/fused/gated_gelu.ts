// T5 v1.1's gated FFN activation: gelu_tanh(gate) ⊙ linear, fused with its gradient.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';

export const GATED_GELU = 'DfGatedGelu';
export const GATED_GELU_GRAD = 'DfGatedGeluGrad';

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(C * (x + A * x * x * x)));
}

export function gatedGeluForward(gate: Float32Array, linear: Float32Array): Float32Array {
  const y = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) y[i] = geluTanh(gate[i]) * linear[i];
  return y;
}

export function gatedGeluBackward(
  dy: Float32Array, gate: Float32Array, linear: Float32Array,
): { dGate: Float32Array; dLinear: Float32Array } {
  const dGate = new Float32Array(gate.length);
  const dLinear = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const x = gate[i];
    const t = Math.tanh(C * (x + A * x * x * x));
    const dGelu = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * A * x * x);
    dGate[i] = dy[i] * linear[i] * dGelu;
    dLinear[i] = dy[i] * 0.5 * x * (1 + t);
  }
  return { dGate, dLinear };
}

/**
 * `productsOnly`: only matrix products read the output (as rmsNorm's). `inputsFromProducts`: gate
 * and linear are outputs of matrix products, so only those products' gradients read their
 * gradients, which the native backend may then store in bf16 too.
 */
export function gatedGelu(gate: Tensor, linear: Tensor, opts: { productsOnly?: boolean; inputsFromProducts?: boolean } = {}):
  Tensor {
  if (!tf.util.arraysEqual(gate.shape, linear.shape)) {
    throw new Error(`gatedGelu: gate [${gate.shape}] and linear [${linear.shape}] differ`);
  }
  const attrs = { productsOnly: Boolean(opts.productsOnly), inputsFromProducts: Boolean(opts.inputsFromProducts) };
  return tf.engine().runKernel(GATED_GELU, { gate, linear }, attrs) as Tensor;
}

const cpuForward: KernelFunc = ({ inputs, backend }) =>
  makeFloat32(backend, input(inputs, 'gate').shape,
    gatedGeluForward(readFloat32(backend, input(inputs, 'gate')), readFloat32(backend, input(inputs, 'linear'))));

const cpuBackward: KernelFunc = ({ inputs, backend }) => {
  const { dGate, dLinear } = gatedGeluBackward(
    readFloat32(backend, input(inputs, 'dy')), readFloat32(backend, input(inputs, 'gate')), readFloat32(backend, input(inputs, 'linear')));
  return [makeFloat32(backend, input(inputs, 'gate').shape, dGate), makeFloat32(backend, input(inputs, 'gate').shape, dLinear)];
};

export const gatedGeluKernels = [
  { kernelName: GATED_GELU, kernelFunc: cpuForward },
  { kernelName: GATED_GELU_GRAD, kernelFunc: cpuBackward },
];

export const gatedGeluGradient: tf.GradConfig = {
  kernelName: GATED_GELU,
  inputsToSave: ['gate', 'linear'],
  gradFunc: (dy, saved, attrs) => {
    const [gate, linear] = saved;
    const [dGate, dLinear] = tf.engine().runKernel(
      GATED_GELU_GRAD, { dy: dy as Tensor, gate, linear }, attrs) as Tensor[];
    return { gate: () => dGate, linear: () => dLinear };
  },
};
