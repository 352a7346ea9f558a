// The two products of attention taken straight on the [B, T, H·dk] projections:
//   scores  S[b, h, i, j] = Σ_d q[b, i, h·dk + d] · k[b, j, h·dk + d]
//   context C[b, i, h·dk + d] = Σ_j P[b, h, i, j] · v[b, j, h·dk + d]
// Split-heads/merge-heads (reshape + transpose) become strides of a batched GEMM: no copies of
// q, k, v or the context, forward or backward, and none kept for autodiff.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc } from '../cpu_kernel';

export const ATTENTION_SCORES = 'DfAttentionScores';
export const ATTENTION_CONTEXT = 'DfAttentionContext';

export interface ScoresShape { batch: number; heads: number; queries: number; keys: number; dk: number }

/** Reference: S = q·kᵀ per (batch, head); q [B, Tq, H·dk], k [B, Tk, H·dk] → [B, H, Tq, Tk]. */
export function attentionScoresForward(q: Float32Array, k: Float32Array, s: ScoresShape): Float32Array {
  const { batch, heads, queries, keys, dk } = s;
  const width = heads * dk;
  const out = new Float32Array(batch * heads * queries * keys);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < queries; i++) {
        for (let j = 0; j < keys; j++) {
          let acc = 0;
          const qi = (b * queries + i) * width + h * dk;
          const kj = (b * keys + j) * width + h * dk;
          for (let d = 0; d < dk; d++) acc += q[qi + d] * k[kj + d];
          out[((b * heads + h) * queries + i) * keys + j] = acc;
        }
      }
    }
  }
  return out;
}

export interface ContextShape { batch: number; heads: number; rows: number; cols: number; dk: number }

/**
 * Reference: p [B, H, rows, cols]. Plain: out[b, r] = Σ_c p[b, h, r, c] · x[b, c] per head slice
 * (x [B, cols, H·dk] → [B, rows, H·dk]); transposeP: out[b, c] = Σ_r p[b, h, r, c] · x[b, r]
 * (x [B, rows, H·dk] → [B, cols, H·dk]).
 */
export function attentionContextForward(p: Float32Array, x: Float32Array, s: ContextShape, transposeP: boolean): Float32Array {
  const { batch, heads, rows, cols, dk } = s;
  const width = heads * dk;
  const outRows = transposeP ? cols : rows;
  const inRows = transposeP ? rows : cols;
  const out = new Float32Array(batch * outRows * width);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let o = 0; o < outRows; o++) {
        for (let d = 0; d < dk; d++) {
          let acc = 0;
          for (let t = 0; t < inRows; t++) {
            const pv = transposeP ? p[((b * heads + h) * rows + t) * cols + o] : p[((b * heads + h) * rows + o) * cols + t];
            acc += pv * x[(b * inRows + t) * width + h * dk + d];
          }
          out[(b * outRows + o) * width + h * dk + d] = acc;
        }
      }
    }
  }
  return out;
}

function expectRank3(op: string, name: string, t: Tensor): void {
  if (t.rank !== 3) throw new Error(`${op}: ${name} must be [B, T, heads·dk], got [${t.shape}]`);
}

/** Attention scores [B, H, Tq, Tk] from projections q [B, Tq, H·dk] and k [B, Tk, H·dk]. */
export function attentionScores(q: Tensor, k: Tensor, heads: number): Tensor {
  expectRank3('attentionScores', 'q', q);
  expectRank3('attentionScores', 'k', k);
  const [qs, ks] = [q.shape as number[], k.shape as number[]];
  if (qs[0] !== ks[0] || qs[2] !== ks[2] || qs[2] % heads !== 0) {
    throw new Error(`attentionScores: q [${q.shape}] and k [${k.shape}] do not split into ${heads} heads alike`);
  }
  return tf.engine().runKernel(ATTENTION_SCORES, { q, k }, { heads }) as Tensor;
}

/** Attention output [B, Tq, H·dk] from probabilities [B, H, Tq, Tk] and values v [B, Tk, H·dk]. */
export function attentionContext(probs: Tensor, v: Tensor): Tensor {
  expectRank3('attentionContext', 'v', v);
  const [batch, heads, , keys] = probs.shape as number[];
  const vs = v.shape as number[];
  if (probs.rank !== 4 || vs[0] !== batch || vs[1] !== keys || vs[2] % heads !== 0) {
    throw new Error(`attentionContext: probs [${probs.shape}] and v [${v.shape}] do not match`);
  }
  return tf.engine().runKernel(ATTENTION_CONTEXT, { probs, x: v }, { transposeP: false }) as Tensor;
}

function context(probs: Tensor, x: Tensor, transposeP: boolean): Tensor {
  return tf.engine().runKernel(ATTENTION_CONTEXT, { probs, x }, { transposeP }) as Tensor;
}

function scores(q: Tensor, k: Tensor, heads: number): Tensor {
  return tf.engine().runKernel(ATTENTION_SCORES, { q, k }, { heads }) as Tensor;
}

/** Shapes of a scores call from its inputs. */
export function scoresShape(q: { shape: number[] }, k: { shape: number[] }, heads: number): ScoresShape {
  return { batch: q.shape[0], heads, queries: q.shape[1], keys: k.shape[1], dk: q.shape[2] / heads };
}

/** Shapes of a context call from its inputs. */
export function contextShape(probs: { shape: number[] }, x: { shape: number[] }): ContextShape {
  const [batch, heads, rows, cols] = probs.shape;
  return { batch, heads, rows, cols, dk: x.shape[2] / heads };
}

const scoresCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const q = input(inputs, 'q');
  const k = input(inputs, 'k');
  const s = scoresShape(q, k, Number(attrs?.heads));
  const out = attentionScoresForward(readFloat32(backend, q), readFloat32(backend, k), s);
  return makeFloat32(backend, [s.batch, s.heads, s.queries, s.keys], out);
};

const contextCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const p = input(inputs, 'probs');
  const x = input(inputs, 'x');
  const s = contextShape(p, x);
  const transposeP = Boolean(attrs?.transposeP);
  const out = attentionContextForward(readFloat32(backend, p), readFloat32(backend, x), s, transposeP);
  return makeFloat32(backend, [s.batch, transposeP ? s.cols : s.rows, x.shape[2]], out);
};

export const attentionMatmulKernels = [
  { kernelName: ATTENTION_SCORES, kernelFunc: scoresCpu },
  { kernelName: ATTENTION_CONTEXT, kernelFunc: contextCpu },
];

export const attentionScoresGradient: tf.GradConfig = {
  kernelName: ATTENTION_SCORES,
  inputsToSave: ['q', 'k'],
  gradFunc: (dy, saved) => {
    const [q, k] = saved;
    // dq[i] = Σ_j dS[i, j]·k[j];  dk[j] = Σ_i dS[i, j]·q[i]
    return { q: () => context(dy as Tensor, k, false), k: () => context(dy as Tensor, q, true) };
  },
};

export const attentionContextGradient: tf.GradConfig = {
  kernelName: ATTENTION_CONTEXT,
  inputsToSave: ['probs', 'x'],
  gradFunc: (dy, saved, attrs) => {
    const [probs, x] = saved;
    const heads = (probs.shape as number[])[1];
    const d = dy as Tensor;
    // Plain:      dP[r, c] = dC[r]·x[c],  dx[c] = Σ_r P[r, c]·dC[r]
    // transposeP: dP[r, c] = x[r]·dC[c],  dx[r] = Σ_c P[r, c]·dC[c]
    return attrs?.transposeP
      ? { probs: () => scores(x, d, heads), x: () => context(probs, d, false) }
      : { probs: () => scores(d, x, heads), x: () => context(probs, d, true) };
  },
};
