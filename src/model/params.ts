// The parameter map: one tensor per HF parameter name. It is what checkpoints store, what the
// model reads and what fusion rewrites, so the names and shapes below are the whole contract.
import { tf, type Tensor } from '../engine/tf';
import type { T5Config } from './config';

export type Params = Record<string, Tensor>;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Standard deviation of T5's normal initialisation; 'ones' for norm weights. */
  init: number | 'ones';
}

type Stack = 'encoder' | 'decoder';

/** Every parameter of a T5 with this config, in a fixed canonical order. */
export function paramSpecs(config: T5Config): ParamSpec[] {
  const { d_model: d, d_kv: dkv, num_heads: h, d_ff: ff, vocab_size: V } = config;
  const inner = h * dkv;
  const specs: ParamSpec[] = [{ name: 'shared.weight', shape: [V, d], init: 1 }];

  const attention = (prefix: string, withBias: boolean): void => {
    specs.push(
      { name: `${prefix}.q.weight`, shape: [inner, d], init: (d * dkv) ** -0.5 },
      { name: `${prefix}.k.weight`, shape: [inner, d], init: d ** -0.5 },
      { name: `${prefix}.v.weight`, shape: [inner, d], init: d ** -0.5 },
      { name: `${prefix}.o.weight`, shape: [d, inner], init: inner ** -0.5 },
    );
    if (withBias) {
      specs.push({
        name: `${prefix}.relative_attention_bias.weight`,
        shape: [config.relative_attention_num_buckets, h],
        init: d ** -0.5,
      });
    }
  };
  const norm = (name: string): void => {
    specs.push({ name, shape: [d], init: 'ones' });
  };
  const ffn = (prefix: string): void => {
    const wi = config.feed_forward_proj === 'gated-gelu' ? ['wi_0', 'wi_1'] : ['wi'];
    for (const w of wi) specs.push({ name: `${prefix}.DenseReluDense.${w}.weight`, shape: [ff, d], init: d ** -0.5 });
    specs.push({ name: `${prefix}.DenseReluDense.wo.weight`, shape: [d, ff], init: ff ** -0.5 });
    norm(`${prefix}.layer_norm.weight`);
  };
  const stack = (s: Stack, layers: number): void => {
    for (let i = 0; i < layers; i++) {
      const b = `${s}.block.${i}.layer`;
      attention(`${b}.0.SelfAttention`, i === 0);
      norm(`${b}.0.layer_norm.weight`);
      if (s === 'decoder') {
        attention(`${b}.1.EncDecAttention`, false);
        norm(`${b}.1.layer_norm.weight`);
      }
      ffn(`${b}.${s === 'decoder' ? 2 : 1}`);
    }
    norm(`${s}.final_layer_norm.weight`);
  };
  stack('encoder', config.num_layers);
  stack('decoder', config.num_decoder_layers);
  if (!config.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [V, d], init: d ** -0.5 });
  return specs;
}

/** Names HF may store in tied checkpoints as copies of `shared.weight`; we accept and drop them. */
export const TIED_EMBEDDING_COPIES = ['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'];

/** T5 initialisation (Mesh TF / HF `_init_weights`, factor 1.0), reproducible from `seed`. */
export function initParams(config: T5Config, seed: number): Params {
  const params: Params = {};
  paramSpecs(config).forEach((spec, i) => {
    // tfjs reads seed 0 as "no seed" (Math.random), which made shared.weight of seed 0 differ
    // from run to run; that one stream uses −1 instead (every other stream is unchanged).
    const stream = seed * 1000 + i || -1;
    params[spec.name] = spec.init === 'ones'
      ? tf.ones(spec.shape)
      : tf.randomNormal(spec.shape, 0, spec.init, 'float32', stream);
  });
  return params;
}

export function countParams(params: Params): number {
  return Object.values(params).reduce((n, t) => n + t.size, 0);
}

export function disposeParams(params: Params): void {
  for (const t of Object.values(params)) t.dispose();
}
