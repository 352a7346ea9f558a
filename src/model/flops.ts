// FLOP accounting for T5 training, shared by the benchmark (achieved GFLOP/s, MFU) and by cost
// accounting. Only matrix multiplications count (the convention of MFU): a matmul of
// [m, k]·[k, n] is 2·m·n·k FLOPs forward, and its backward (input and weight gradients) twice that.
import type { T5Config } from './config';

export interface StepShape {
  batch: number;
  inputLength: number;
  targetLength: number;
}

/** FLOPs of one [m, k]·[k, n] product. */
export function matmulFlops(m: number, n: number, k: number): number {
  return 2 * m * n * k;
}

export interface FlopBreakdown {
  encoder: number;
  decoder: number;
  lmHead: number;
  /** Sum of the parts: forward FLOPs of one batch. */
  forward: number;
  /** Of the encoder and decoder FLOPs, attention's per-head products (q·kᵀ and probs·v). */
  attention: number;
}

/** Forward matmul FLOPs of one batch, by part of the model. */
export function t5ForwardFlops(config: T5Config, shape: StepShape): FlopBreakdown {
  const { d_model: d, d_ff: ff, num_heads: h, d_kv: dkv, vocab_size: vocab } = config;
  const inner = h * dkv;
  const enc = shape.batch * shape.inputLength;
  const dec = shape.batch * shape.targetLength;
  const ffnMatrices = config.feed_forward_proj === 'gated-gelu' ? 3 : 2;
  const ffn = (tokens: number): number => ffnMatrices * matmulFlops(tokens, ff, d);
  // q·kᵀ and probs·v for every (batch, head): [tq, dkv]·[dkv, tk] and [tq, tk]·[tk, dkv].
  const scores = (tq: number, tk: number): number => shape.batch * h * 2 * matmulFlops(tq, tk, dkv);
  const encoderLayer = 4 * matmulFlops(enc, inner, d) + scores(shape.inputLength, shape.inputLength) + ffn(enc);
  const decoderLayer =
    4 * matmulFlops(dec, inner, d) + scores(shape.targetLength, shape.targetLength) + // self-attention
    2 * matmulFlops(dec, inner, d) + 2 * matmulFlops(enc, inner, d) + // cross-attention q, o | k, v
    scores(shape.targetLength, shape.inputLength) + ffn(dec);
  const encoder = config.num_layers * encoderLayer;
  const decoder = config.num_decoder_layers * decoderLayer;
  const lmHead = matmulFlops(dec, vocab, d);
  const attention = config.num_layers * scores(shape.inputLength, shape.inputLength) +
    config.num_decoder_layers * (scores(shape.targetLength, shape.targetLength) + scores(shape.targetLength, shape.inputLength));
  return { encoder, decoder, lmHead, forward: encoder + decoder + lmHead, attention };
}

/** Matmul FLOPs of one training step (forward + backward = 3 × forward). */
export function t5TrainingStepFlops(config: T5Config, shape: StepShape): number {
  return 3 * t5ForwardFlops(config, shape).forward;
}
