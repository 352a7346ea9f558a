// What must agree between the sources of a fusion (docs/fusion.md, "What the sources must share") and what the
// output weights must satisfy. Every refusal names the field, both values and both sources.
import { ConfigError, UserError } from '../errors';
import type { T5Config } from '../model/config';

/** A source's config and how to name it in messages (its config.json path, or "source 2"). */
export interface LabelledConfig {
  config: T5Config;
  label: string;
}

/**
 * Fields every source must share. The spec's list, plus the fields that are part of the function
 * but have no place for per-source values in one config: the norm epsilon and the special token ids.
 */
export const MUST_MATCH: readonly (keyof T5Config)[] = [
  'num_layers', 'num_decoder_layers', 'vocab_size', 'd_kv', 'feed_forward_proj', 'tie_word_embeddings',
  'relative_attention_num_buckets', 'relative_attention_max_distance',
  'layer_norm_epsilon', 'pad_token_id', 'eos_token_id', 'decoder_start_token_id',
];

/** Refuses sources that cannot be fused into one T5. */
export function checkFusable(sources: readonly LabelledConfig[]): void {
  if (sources.length < 2) {
    throw new UserError(`fusion needs at least 2 sources, got ${sources.length}. ` +
      'Fix: give two or more model directories (to widen one model, use self-fuse)');
  }
  const [first, ...rest] = sources;
  for (const other of rest) {
    for (const field of MUST_MATCH) {
      const a = first.config[field];
      const b = other.config[field];
      if (a !== b) {
        throw new ConfigError(other.label, field, `is ${JSON.stringify(b)} but ${first.label} has ${JSON.stringify(a)}`,
          `fuse models that agree on "${field}" (only d_model, num_heads and d_ff may differ)`);
      }
    }
  }
}

/** The output weights: default 1/k each; otherwise k positive numbers summing to 1. */
export function outputWeights(k: number, weights?: readonly number[]): number[] {
  if (weights === undefined) return Array.from({ length: k }, () => 1 / k);
  const fix = `give ${k} positive weights that sum to 1, e.g. ${Array.from({ length: k }, () => (1 / k).toFixed(3)).join(',')}`;
  if (weights.length !== k) throw new UserError(`fusion weights: ${weights.length} weights for ${k} sources. Fix: ${fix}`);
  const bad = weights.find((w) => !Number.isFinite(w) || w <= 0);
  if (bad !== undefined) throw new UserError(`fusion weights: ${bad} is not a positive number. Fix: ${fix}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) throw new UserError(`fusion weights: [${weights.join(', ')}] sum to ${sum}, not 1. Fix: ${fix}`);
  return [...weights];
}
