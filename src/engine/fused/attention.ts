// T5 attention in one op: scores q·kᵀ per head, softmax(scores + bias + mask), context P·v, from
// the [B, T, H·dk] projections (attention_matmul.ts) with the masking of attention_softmax.ts.
// One kernel computes it a head at a time, so the [B, H, Tq, Tk] scores never reach memory
// (native/attention.cc); forward it also returns the probabilities, which its gradient needs, and
// the gradient kernel likewise keeps dP and dS to one head's tile. Without dropout on the
// probabilities, T5 runs it in place of the three ops (src/model/t5.ts).
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';
import { attentionContextForward, attentionScoresForward } from './attention_matmul';
import { attentionSoftmaxBackward, attentionSoftmaxForward } from './attention_softmax';

export const ATTENTION = 'DfAttention';
export const ATTENTION_GRAD = 'DfAttentionGrad';

export interface AttentionShape { batch: number; heads: number; queries: number; keys: number; dk: number }

export function attentionShape(q: { shape: number[] }, k: { shape: number[] }, heads: number): AttentionShape {
  return { batch: q.shape[0], heads, queries: q.shape[1], keys: k.shape[1], dk: q.shape[2] / heads };
}

/** Reference: [out, probs] from the reference kernels of the three ops. */
export function attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, bias: Float32Array | null,
  keyMask: Float32Array | null, s: AttentionShape, causal: boolean): { out: Float32Array; probs: Float32Array } {
  const scores = attentionScoresForward(q, k, s);
  const probs = attentionSoftmaxForward(scores, bias, keyMask, s, { causal });
  const out = attentionContextForward(probs, v, { batch: s.batch, heads: s.heads, rows: s.queries, cols: s.keys, dk: s.dk }, false);
  return { out, probs };
}

/** Reference gradients: dq, dk, dv, and dBias (the batch's sum of dS). */
export function attentionBackward(dOut: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array,
  s: AttentionShape): { dq: Float32Array; dk: Float32Array; dv: Float32Array; dBias: Float32Array } {
  const ctx = { batch: s.batch, heads: s.heads, rows: s.queries, cols: s.keys, dk: s.dk };
  const dP = attentionScoresForward(dOut, v, s);
  const dS = attentionSoftmaxBackward(dP, probs, s.keys);
  const area = s.queries * s.keys;
  const dBias = new Float32Array(s.heads * area);
  const sum = new Float64Array(dBias.length);
  for (let b = 0; b < s.batch; b++) for (let i = 0; i < sum.length; i++) sum[i] += dS[b * sum.length + i];
  dBias.set(sum);
  return {
    dq: attentionContextForward(dS, k, ctx, false),
    dk: attentionContextForward(dS, q, ctx, true),
    dv: attentionContextForward(probs, dOut, ctx, true),
    dBias,
  };
}

function expectRank3(name: string, t: Tensor): void {
  if (t.rank !== 3) throw new Error(`attention: ${name} must be [B, T, heads·dk], got [${t.shape}]`);
}

/**
 * Attention output [B, Tq, H·dk] from projections q [B, Tq, H·dk], k and v [B, Tk, H·dk], a
 * relative position bias [H, Tq, Tk] (shared by the batch), a key padding mask [B, Tk] (1 attend,
 * 0 pad) and a causal flag: what attentionContext(attentionSoftmax(attentionScores(q, k), …), v)
 * computes, with gradients for q, k, v and the bias.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, heads: number,
  opts: { bias?: Tensor | null; keyMask?: Tensor | null; causal: boolean; productsOnly?: boolean; inputsFromProducts?: boolean }):
  Tensor {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) expectRank3(name, t);
  const [qs, ks, vs] = [q.shape, k.shape, v.shape] as number[][];
  if (qs[0] !== ks[0] || qs[2] !== ks[2] || qs[2] % heads !== 0 || !tf.util.arraysEqual(ks, vs)) {
    throw new Error(`attention: q [${qs}], k [${ks}] and v [${vs}] do not split into ${heads} heads alike`);
  }
  const s = attentionShape(q, k, heads);
  if (opts.bias && !tf.util.arraysEqual(opts.bias.shape, [heads, s.queries, s.keys])) {
    throw new Error(`attention: bias must be [${[heads, s.queries, s.keys]}], got [${opts.bias.shape}]`);
  }
  if (opts.keyMask && !tf.util.arraysEqual(opts.keyMask.shape, [s.batch, s.keys])) {
    throw new Error(`attention: keyMask must be [${[s.batch, s.keys]}], got [${opts.keyMask.shape}]`);
  }
  // productsOnly and inputsFromProducts: as gatedGelu's (q, k and v are the projections' outputs).
  const attrs = { heads, causal: opts.causal, productsOnly: Boolean(opts.productsOnly),
    inputsFromProducts: Boolean(opts.inputsFromProducts) };
  const keyMask = opts.keyMask ?? null;
  // customGrad: the tape records one node whose output is `out`; the probabilities are saved
  // for the gradient without being an output that backprop would fill with zeros.
  const inputs = opts.bias ? [q, k, v, opts.bias] : [q, k, v];
  const run = tf.customGrad((...args: unknown[]) => {
    const [qi, ki, vi, bias] = args.slice(0, inputs.length) as Tensor[];
    const save = args[inputs.length] as (tensors: Tensor[]) => void;
    const kernelInputs: Record<string, Tensor> = { q: qi, k: ki, v: vi };
    if (bias) kernelInputs.bias = bias;
    if (keyMask) kernelInputs.keyMask = keyMask;
    const [out, probs] = tf.engine().runKernel(ATTENTION, kernelInputs, attrs) as Tensor[];
    save([qi, ki, vi, probs]);
    return {
      value: out,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sq, sk, sv, sp] = saved;
        const grads = tf.engine().runKernel(ATTENTION_GRAD, { dy, q: sq, k: sk, v: sv, probs: sp },
          { ...attrs, withBias: Boolean(bias) }) as Tensor[];
        return grads.slice(0, inputs.length);
      },
    };
  });
  return run(...inputs);
}

const cpuForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const [q, k, v] = ['q', 'k', 'v'].map((n) => input(inputs, n));
  const s = attentionShape(q, k, Number(attrs?.heads));
  const r = attentionForward(readFloat32(backend, q), readFloat32(backend, k), readFloat32(backend, v),
    inputs.bias ? readFloat32(backend, inputs.bias) : null, inputs.keyMask ? readFloat32(backend, inputs.keyMask) : null,
    s, Boolean(attrs?.causal));
  return [makeFloat32(backend, q.shape, r.out), makeFloat32(backend, [s.batch, s.heads, s.queries, s.keys], r.probs)];
};

const cpuBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const [dy, q, k, v, probs] = ['dy', 'q', 'k', 'v', 'probs'].map((n) => input(inputs, n));
  const s = attentionShape(q, k, Number(attrs?.heads));
  const r = attentionBackward(readFloat32(backend, dy), readFloat32(backend, q), readFloat32(backend, k), readFloat32(backend, v),
    readFloat32(backend, probs), s);
  const out = [makeFloat32(backend, q.shape, r.dq), makeFloat32(backend, k.shape, r.dk), makeFloat32(backend, v.shape, r.dv)];
  return attrs?.withBias ? [...out, makeFloat32(backend, [s.heads, s.queries, s.keys], r.dBias)] : out;
};

export const attentionKernels = [
  { kernelName: ATTENTION, kernelFunc: cpuForward },
  { kernelName: ATTENTION_GRAD, kernelFunc: cpuBackward },
];
