// T5 (encoder–decoder) as pure functions over a parameter map, computing what Hugging Face's
// T5ForConditionalGeneration computes (docs/t5.md). No state lives here: callers own the tensors and
// wrap calls in tf.tidy.
import { attention as fusedAttention, attentionContext, attentionScores, attentionSoftmax, crossEntropy, gatedGelu, rmsNorm } from '../engine/fused';
import { tf, type Tensor } from '../engine/tf';
import { normGroupsOf, type T5Config } from './config';
import type { Params } from './params';
import { bucketMatrix } from './position';

/** One batch of token ids: int32 `[B, T]` tensors, attention mask float32 0/1. */
export interface Seq2SeqBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  decoderInputIds: Tensor;
  /** int32 `[B, T_dec]`, −100 where no loss is taken. */
  labels?: Tensor;
}

export interface ForwardOptions {
  /** Dropout during training (HF's placement); off when absent or rate 0. */
  dropout?: { rate: number; seed: number };
}

interface Context {
  config: T5Config;
  params: Params;
  groups: number[];
  dropout: (x: Tensor) => Tensor;
  /** Dropout is on: attention then drops probabilities, which the fused attention op does not. */
  dropping: boolean;
}

function makeContext(config: T5Config, params: Params, opts: ForwardOptions): Context {
  let calls = 0;
  const rate = opts.dropout?.rate ?? 0;
  const seed = opts.dropout?.seed ?? 0;
  // Each dropout site gets its own seed derived from the step's seed, so a step is reproducible.
  const dropout = rate > 0 ? (x: Tensor) => tf.dropout(x, rate, undefined, seed * 4096 + calls++) : (x: Tensor) => x;
  return { config, params, groups: normGroupsOf(config), dropout, dropping: rate > 0 };
}

function param(ctx: Context, name: string): Tensor {
  const p = ctx.params[name];
  if (!p) throw new Error(`T5: parameter "${name}" is missing from the parameter map`);
  return p;
}

/** x [..., in] · Wᵀ with W in HF Linear layout [out, in]. */
function linear(x: Tensor, w: Tensor): Tensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(x.reshape([-1, x.shape[x.rank - 1]]), w, false, true);
  return y.reshape([...lead, w.shape[0]]);
}

/** productsOnly: only linear layers read the output, so it may be stored as their bf16 products read it. */
function norm(ctx: Context, x: Tensor, name: string, productsOnly = false): Tensor {
  return rmsNorm(x, param(ctx, name), { groups: ctx.groups, eps: ctx.config.layer_norm_epsilon, productsOnly });
}

/** Relative position bias [H, Tq, Tk] from block 0's bucket embedding of a stack. */
function positionBias(ctx: Context, stack: 'encoder' | 'decoder', queries: number, keys: number): Tensor {
  const table = param(ctx, `${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
  const buckets = bucketMatrix(queries, keys, {
    bidirectional: stack === 'encoder',
    numBuckets: ctx.config.relative_attention_num_buckets,
    maxDistance: ctx.config.relative_attention_max_distance,
  });
  const heads = (table.shape as number[])[1];
  return tf.gather(table, tf.tensor1d(buckets, 'int32')).transpose().reshape([heads, queries, keys]);
}

function attention(
  ctx: Context, prefix: string, xq: Tensor, xkv: Tensor,
  opts: { bias: Tensor | null; keyMask: Tensor | null; causal: boolean },
): Tensor {
  const heads = ctx.config.num_heads;
  // Heads stay interleaved in the [B, T, H·d_kv] projections: the fused products read each head's
  // slice in place (no split/merge transposes).
  const q = linear(xq, param(ctx, `${prefix}.q.weight`));
  const k = linear(xkv, param(ctx, `${prefix}.k.weight`));
  const v = linear(xkv, param(ctx, `${prefix}.v.weight`));
  // One fused op when nothing happens between the softmax and the context (no dropout): the same
  // values, without the [B, H, Tq, Tk] scores in memory.
  const context = ctx.dropping
    ? attentionContext(ctx.dropout(attentionSoftmax(attentionScores(q, k, heads), opts)), v)
    : fusedAttention(q, k, v, heads, { ...opts, productsOnly: true, inputsFromProducts: true });
  return linear(context, param(ctx, `${prefix}.o.weight`));
}

function feedForward(ctx: Context, prefix: string, x: Tensor): Tensor {
  const p = `${prefix}.DenseReluDense`;
  const hidden = ctx.config.feed_forward_proj === 'gated-gelu'
    ? gatedGelu(linear(x, param(ctx, `${p}.wi_0.weight`)), linear(x, param(ctx, `${p}.wi_1.weight`)), { productsOnly: !ctx.dropping, inputsFromProducts: true })
    : tf.relu(linear(x, param(ctx, `${p}.wi.weight`)));
  return linear(ctx.dropout(hidden), param(ctx, `${p}.wo.weight`));
}

/** Pre-norm residual: x + dropout(sublayer(norm(x))). */
function residual(ctx: Context, x: Tensor, normName: string, sublayer: (h: Tensor) => Tensor): Tensor {
  return tf.add(x, ctx.dropout(sublayer(norm(ctx, x, normName, true))));
}

function embed(ctx: Context, ids: Tensor): Tensor {
  return ctx.dropout(tf.gather(param(ctx, 'shared.weight'), ids));
}

/** productsOnly: the caller reads the output only through linear layers (the decoder's cross-attention). */
function runEncoder(ctx: Context, inputIds: Tensor, attentionMask: Tensor, productsOnly = false): Tensor {
  const t = (inputIds.shape as number[])[1];
  const bias = positionBias(ctx, 'encoder', t, t);
  let x = embed(ctx, inputIds);
  for (let i = 0; i < ctx.config.num_layers; i++) {
    const b = `encoder.block.${i}.layer`;
    x = residual(ctx, x, `${b}.0.layer_norm.weight`,
      (h) => attention(ctx, `${b}.0.SelfAttention`, h, h, { bias, keyMask: attentionMask, causal: false }));
    x = residual(ctx, x, `${b}.1.layer_norm.weight`, (h) => feedForward(ctx, `${b}.1`, h));
  }
  return ctx.dropout(norm(ctx, x, 'encoder.final_layer_norm.weight', productsOnly && !ctx.dropping));
}

function runDecoder(ctx: Context, decoderInputIds: Tensor, encoderHidden: Tensor, attentionMask: Tensor): Tensor {
  const t = (decoderInputIds.shape as number[])[1];
  const bias = positionBias(ctx, 'decoder', t, t);
  let y = embed(ctx, decoderInputIds);
  for (let i = 0; i < ctx.config.num_decoder_layers; i++) {
    const b = `decoder.block.${i}.layer`;
    y = residual(ctx, y, `${b}.0.layer_norm.weight`,
      (h) => attention(ctx, `${b}.0.SelfAttention`, h, h, { bias, keyMask: null, causal: true }));
    y = residual(ctx, y, `${b}.1.layer_norm.weight`,
      (h) => attention(ctx, `${b}.1.EncDecAttention`, h, encoderHidden, { bias: null, keyMask: attentionMask, causal: false }));
    y = residual(ctx, y, `${b}.2.layer_norm.weight`, (h) => feedForward(ctx, `${b}.2`, h));
  }
  y = ctx.dropout(norm(ctx, y, 'decoder.final_layer_norm.weight', !ctx.config.tie_word_embeddings && !ctx.dropping));
  if (ctx.config.tie_word_embeddings) {
    // Tied T5 rescales the decoder output before the shared embedding acts as the output layer.
    return linear(tf.mul(y, ctx.config.d_model ** -0.5), param(ctx, 'shared.weight'));
  }
  return linear(y, param(ctx, 'lm_head.weight'));
}

/** Encoder output after its final norm: `[B, T_enc, d_model]`. */
export function encode(config: T5Config, params: Params, inputIds: Tensor, attentionMask: Tensor,
  opts: ForwardOptions = {}): Tensor {
  return runEncoder(makeContext(config, params, opts), inputIds, attentionMask);
}

/** Decoder logits `[B, T_dec, V]` given the encoder output. */
export function decode(config: T5Config, params: Params, decoderInputIds: Tensor, encoderHidden: Tensor,
  attentionMask: Tensor, opts: ForwardOptions = {}): Tensor {
  return runDecoder(makeContext(config, params, opts), decoderInputIds, encoderHidden, attentionMask);
}

export interface ForwardResult {
  logits: Tensor;
  encoderHidden: Tensor;
  /** Mean cross-entropy over labels ≠ −100; present when the batch has labels. */
  loss?: Tensor;
}

export function forward(config: T5Config, params: Params, batch: Seq2SeqBatch, opts: ForwardOptions = {}): ForwardResult {
  const ctx = makeContext(config, params, opts);
  const encoderHidden = runEncoder(ctx, batch.inputIds, batch.attentionMask);
  const logits = runDecoder(ctx, batch.decoderInputIds, encoderHidden, batch.attentionMask);
  const loss = batch.labels ? lossFromLogits(logits, batch.labels) : undefined;
  return { logits, encoderHidden, loss };
}

export function lossFromLogits(logits: Tensor, labels: Tensor): Tensor {
  const vocab = logits.shape[logits.rank - 1];
  return crossEntropy(logits.reshape([-1, vocab]), labels.reshape([-1]));
}

/** The training loss of a batch (which must have labels). */
export function loss(config: T5Config, params: Params, batch: Seq2SeqBatch, opts: ForwardOptions = {}): Tensor {
  if (!batch.labels) throw new Error('T5 loss: the batch has no labels');
  // forward() without the encoder's output, which only the decoder's linear layers read here.
  const ctx = makeContext(config, params, opts);
  const encoderHidden = runEncoder(ctx, batch.inputIds, batch.attentionMask, true);
  return lossFromLogits(runDecoder(ctx, batch.decoderInputIds, encoderHidden, batch.attentionMask), batch.labels);
}

/**
 * Loss and the gradient of the loss with respect to every parameter (tfjs autodiff).
 * Only the returned tensors survive; the caller disposes them.
 */
export function lossAndGrads(config: T5Config, params: Params, batch: Seq2SeqBatch, opts: ForwardOptions = {}):
  { loss: Tensor; grads: Params } {
  const names = Object.keys(params);
  const f = (...tensors: Tensor[]): Tensor => {
    const p: Params = {};
    names.forEach((n, i) => { p[n] = tensors[i]; });
    return loss(config, p, batch, opts);
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
  const named: Params = {};
  names.forEach((n, i) => { named[n] = grads[i]; });
  return { loss: value, grads: named };
}

/** Decoder inputs from labels: shifted right, starting with `decoder_start_token_id`, −100 → pad. */
export function shiftRight(labels: number[][],
  config: Pick<T5Config, 'decoder_start_token_id' | 'pad_token_id'>): number[][] {
  return labels.map((row) => [config.decoder_start_token_id, ...row.slice(0, -1)]
    .map((id) => (id === -100 ? config.pad_token_id : id)));
}
