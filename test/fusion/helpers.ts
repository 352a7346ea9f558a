// Tiny random T5s for fusion tests: random compatible configs, weights with non-trivial norms,
// and a batch with padding and ignored labels.
import { tf } from '../../src/engine/tf';
import type { Model } from '../../src/io/checkpoint';
import type { ForwardCase } from '../../src/model/case';
import { makeConfig, type T5Config } from '../../src/model/config';
import { initParams } from '../../src/model/params';
import { shiftRight } from '../../src/model/t5';
import { Rng as Generator } from '../../src/util/rng';

export type Rng = () => number;

export const rngFor = (seed: number, key = 'test'): Rng => {
  const g = Generator.forKey(seed, key);
  return () => g.uniform();
};
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
export const intIn = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** T5 initialisation, with norm weights drawn around 1 so that misplaced norms show. */
export function randomModel(config: T5Config, seed: number): Model {
  const params = initParams(config, seed);
  for (const [name, t] of Object.entries(params)) {
    if (name.endsWith('layer_norm.weight')) {
      params[name] = tf.add(1, tf.randomNormal(t.shape, 0, 0.3, 'float32', seed * 7919 + name.length));
      t.dispose();
    }
  }
  return { config, params };
}

/** Split d into two norm groups (an already-fused source). */
const groupsOf = (rng: Rng, d: number): number[] => {
  const a = intIn(rng, 1, d - 1);
  return [a, d - a];
};

/**
 * k sources that may be fused: shared depth / vocab / d_kv / FFN / tying / buckets, free widths,
 * some already grouped when `grouped`.
 */
export function compatibleConfigs(rng: Rng, k: number, opts: { grouped?: boolean } = {}): T5Config[] {
  const common = {
    vocab_size: intIn(rng, 20, 40),
    d_kv: intIn(rng, 2, 5),
    num_layers: intIn(rng, 1, 2),
    num_decoder_layers: intIn(rng, 1, 3),
    feed_forward_proj: pick(rng, ['relu', 'gated-gelu'] as const),
    tie_word_embeddings: rng() < 0.5,
    relative_attention_num_buckets: intIn(rng, 4, 12),
    relative_attention_max_distance: intIn(rng, 6, 20),
  };
  return Array.from({ length: k }, () => {
    const d = intIn(rng, 4, 14);
    const config = makeConfig({ ...common, d_model: d, num_heads: intIn(rng, 1, 3), d_ff: intIn(rng, 3, 16) });
    if (opts.grouped && rng() < 0.5) config.norm_groups = groupsOf(rng, d);
    return config;
  });
}

/** Positive weights summing to 1. */
export function randomWeights(rng: Rng, k: number): number[] {
  const raw = Array.from({ length: k }, () => 0.2 + rng());
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

/** Two rows: the second is padded on input and has an ignored label. */
export function randomCase(config: T5Config, rng: Rng): ForwardCase {
  const token = () => intIn(rng, 2, config.vocab_size - 1);
  const inputIds = [Array.from({ length: 7 }, token), [...Array.from({ length: 5 }, token), 0, 0]];
  const labels = [Array.from({ length: 5 }, token), [...Array.from({ length: 4 }, token), -100]];
  return {
    input_ids: inputIds,
    attention_mask: [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]],
    labels,
    decoder_input_ids: shiftRight(labels, config),
  };
}

export function tensorData(model: Model, name: string): Float32Array {
  return model.params[name].dataSync() as Float32Array;
}
