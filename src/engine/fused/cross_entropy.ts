// Mean cross-entropy from logits, skipping ignored labels (HF's −100). Fused so that the
// [N, V] softmax is never materialised as a separate tensor in the forward pass.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, readValues, type KernelFunc } from '../cpu_kernel';

export const CROSS_ENTROPY = 'DfCrossEntropy';
export const CROSS_ENTROPY_GRAD = 'DfCrossEntropyGrad';
export const IGNORE_INDEX = -100;

/** Throws unless `label` is IGNORE_INDEX or a vocabulary id (shared with the native kernel). */
export function checkLabel(label: number, vocab: number): void {
  if (label !== IGNORE_INDEX && (label < 0 || label >= vocab || !Number.isInteger(label))) {
    throw new Error(`crossEntropy: label ${label} is outside the vocabulary [0, ${vocab}) and is not ${IGNORE_INDEX}`);
  }
}

/** Mean over counted rows of −log softmax(logits)[label]; NaN when every label is ignored (as HF). */
export function crossEntropyForward(logits: Float32Array, labels: Int32Array | Float32Array, vocab: number): number {
  let total = 0;
  let count = 0;
  for (let r = 0; r < labels.length; r++) {
    const label = labels[r];
    checkLabel(label, vocab);
    if (label === IGNORE_INDEX) continue;
    const base = r * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v] - max);
    total += Math.log(sum) + max - logits[base + label];
    count++;
  }
  return total / count;
}

/** d logits = dLoss · (softmax − onehot(label)) / count on counted rows, 0 on ignored rows. */
export function crossEntropyBackward(
  dLoss: number, logits: Float32Array, labels: Int32Array | Float32Array, vocab: number,
): Float32Array {
  const dx = new Float32Array(logits.length);
  let count = 0;
  for (let r = 0; r < labels.length; r++) if (labels[r] !== IGNORE_INDEX) count++;
  const scale = dLoss / count;
  const row = new Float64Array(vocab);
  for (let r = 0; r < labels.length; r++) {
    const label = labels[r];
    if (label === IGNORE_INDEX) continue;
    const base = r * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
    let sum = 0;
    for (let v = 0; v < vocab; v++) {
      row[v] = Math.exp(logits[base + v] - max);
      sum += row[v];
    }
    for (let v = 0; v < vocab; v++) dx[base + v] = (row[v] / sum) * scale;
    dx[base + label] -= scale;
  }
  return dx;
}

/** Scalar mean cross-entropy of `logits [N, V]` against int32 `labels [N]`. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`crossEntropy: expected logits [N, V] and labels [N], got [${logits.shape}] and [${labels.shape}]`);
  }
  if (labels.dtype !== 'int32') throw new Error(`crossEntropy: labels must be int32, got ${labels.dtype}`);
  return tf.engine().runKernel(CROSS_ENTROPY, { logits, labels }, {}) as Tensor;
}

const cpuForward: KernelFunc = ({ inputs, backend }) => {
  const vocab = input(inputs, 'logits').shape[1];
  const loss = crossEntropyForward(readFloat32(backend, input(inputs, 'logits')), readValues(backend, input(inputs, 'labels')), vocab);
  return makeFloat32(backend, [], Float32Array.of(loss));
};

const cpuBackward: KernelFunc = ({ inputs, backend }) => {
  const vocab = input(inputs, 'logits').shape[1];
  const dx = crossEntropyBackward(
    readFloat32(backend, input(inputs, 'dy'))[0], readFloat32(backend, input(inputs, 'logits')), readValues(backend, input(inputs, 'labels')), vocab);
  return makeFloat32(backend, input(inputs, 'logits').shape, dx);
};

export const crossEntropyKernels = [
  { kernelName: CROSS_ENTROPY, kernelFunc: cpuForward },
  { kernelName: CROSS_ENTROPY_GRAD, kernelFunc: cpuBackward },
];

export const crossEntropyGradient: tf.GradConfig = {
  kernelName: CROSS_ENTROPY,
  inputsToSave: ['logits', 'labels'],
  gradFunc: (dy, saved) => {
    const [logits, labels] = saved;
    return {
      logits: () => tf.engine().runKernel(CROSS_ENTROPY_GRAD, { dy: dy as Tensor, logits, labels }, {}) as Tensor,
      labels: () => tf.zerosLike(labels),
    };
  },
};
