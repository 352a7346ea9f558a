// softmax(scores + bias + mask) over the key axis, the heart of T5 attention. Fusing the bias,
// the padding/causal mask and the softmax saves three full passes over [B, H, Tq, Tk] and its
// gradient needs only the probabilities.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';

export const ATTENTION_SOFTMAX = 'DfAttentionSoftmax';
export const ATTENTION_SOFTMAX_GRAD = 'DfAttentionSoftmaxGrad';

/** Added to the score of a masked key (the golden fixtures use the same value). */
export const MASK_VALUE = -1e9;

export interface AttentionSoftmaxAttrs {
  /** Key k is masked for query q when k > q (decoder self-attention). */
  causal: boolean;
}

export interface AttentionShape { batch: number; heads: number; queries: number; keys: number }

/**
 * Reference arithmetic. `bias` is [H, Tq, Tk] or null; `keyMask` is [B, Tk] with 1 = attend,
 * 0 = padding, or null.
 */
export function attentionSoftmaxForward(
  scores: Float32Array, bias: Float32Array | null, keyMask: Float32Array | null,
  shape: AttentionShape, attrs: AttentionSoftmaxAttrs,
): Float32Array {
  const { batch, heads, queries, keys } = shape;
  const out = new Float32Array(scores.length);
  const row = new Float64Array(keys);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < queries; q++) {
        const base = ((b * heads + h) * queries + q) * keys;
        const biasBase = (h * queries + q) * keys;
        let max = -Infinity;
        for (let k = 0; k < keys; k++) {
          let s = scores[base + k];
          if (bias) s += bias[biasBase + k];
          const masked = (keyMask !== null && keyMask[b * keys + k] === 0) || (attrs.causal && k > q);
          if (masked) s += MASK_VALUE;
          row[k] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let k = 0; k < keys; k++) {
          row[k] = Math.exp(row[k] - max);
          sum += row[k];
        }
        for (let k = 0; k < keys; k++) out[base + k] = row[k] / sum;
      }
    }
  }
  return out;
}

/** d scores = P ⊙ (dP − Σ_k dP·P), row by row. */
export function attentionSoftmaxBackward(dy: Float32Array, probs: Float32Array, keys: number): Float32Array {
  const dx = new Float32Array(probs.length);
  for (let base = 0; base < probs.length; base += keys) {
    let dot = 0;
    for (let k = 0; k < keys; k++) dot += dy[base + k] * probs[base + k];
    for (let k = 0; k < keys; k++) dx[base + k] = probs[base + k] * (dy[base + k] - dot);
  }
  return dx;
}

/**
 * Attention probabilities from raw scores `[B, H, Tq, Tk]`, a relative position bias `[H, Tq, Tk]`
 * (shared by the batch), a key padding mask `[B, Tk]` (1 attend / 0 pad) and a causal flag.
 */
export function attentionSoftmax(
  scores: Tensor, opts: { bias?: Tensor | null; keyMask?: Tensor | null; causal: boolean },
): Tensor {
  if (scores.rank !== 4) throw new Error(`attentionSoftmax: scores must be [B, H, Tq, Tk], got [${scores.shape}]`);
  const [batch, heads, queries, keys] = scores.shape;
  const inputs: Record<string, Tensor> = { scores };
  if (opts.bias) {
    expectShape('bias', opts.bias, [heads, queries, keys]);
    inputs.bias = opts.bias;
  }
  if (opts.keyMask) {
    expectShape('keyMask', opts.keyMask, [batch, keys]);
    inputs.keyMask = opts.keyMask;
  }
  return tf.engine().runKernel(ATTENTION_SOFTMAX, inputs, { causal: opts.causal }) as Tensor;
}

function expectShape(name: string, t: Tensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
    throw new Error(`attentionSoftmax: ${name} must be [${shape}], got [${t.shape}]`);
  }
}

const cpuForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const [batch, heads, queries, keys] = input(inputs, 'scores').shape;
  const probs = attentionSoftmaxForward(
    readFloat32(backend, input(inputs, 'scores')),
    inputs.bias ? readFloat32(backend, inputs.bias) : null,
    inputs.keyMask ? readFloat32(backend, inputs.keyMask) : null,
    { batch, heads, queries, keys }, attrs as unknown as AttentionSoftmaxAttrs);
  return makeFloat32(backend, input(inputs, 'scores').shape, probs);
};

const cpuBackward: KernelFunc = ({ inputs, backend }) => {
  const keys = input(inputs, 'probs').shape[input(inputs, 'probs').shape.length - 1];
  const dx = attentionSoftmaxBackward(readFloat32(backend, input(inputs, 'dy')), readFloat32(backend, input(inputs, 'probs')), keys);
  return makeFloat32(backend, input(inputs, 'probs').shape, dx);
};

export const attentionSoftmaxKernels = [
  { kernelName: ATTENTION_SOFTMAX, kernelFunc: cpuForward },
  { kernelName: ATTENTION_SOFTMAX_GRAD, kernelFunc: cpuBackward },
];

export const attentionSoftmaxGradient: tf.GradConfig = {
  kernelName: ATTENTION_SOFTMAX,
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [probs] = saved;
    const dScores = tf.engine().runKernel(ATTENTION_SOFTMAX_GRAD, { dy: dy as Tensor, probs }, {}) as Tensor;
    // The bias is broadcast over the batch, so its gradient sums the batch axis.
    return { scores: () => dScores, bias: () => tf.sum(dScores, 0) };
  },
};
