// T5 configuration with Hugging Face field names (docs/t5.md), parsed and validated so that every
// problem is reported with the file, the field and the fix.
import { ConfigError } from '../errors';

export type FeedForwardProj = 'relu' | 'gated-gelu';

export interface T5Config {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  feed_forward_proj: FeedForwardProj;
  tie_word_embeddings: boolean;
  pad_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
  dropout_rate: number;
  /** Per-group RMSNorm (docs/t5.md, "Norm groups"): sizes of consecutive feature groups summing to d_model. */
  norm_groups?: number[];
  /** Other fields of the HF config.json, carried through untouched. */
  extra?: Record<string, unknown>;
}

type Defaults = Partial<Record<keyof T5Config, unknown>>;

// HF's T5Config defaults for fields that real checkpoints sometimes omit. The dimensions have no
// default here on purpose: a config without them is more likely wrong than meant.
const DEFAULTS: Defaults = {
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  layer_norm_epsilon: 1e-6,
  feed_forward_proj: 'relu',
  tie_word_embeddings: true,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
  dropout_rate: 0.1,
};

const KNOWN_FIELDS = new Set<string>([
  'vocab_size', 'd_model', 'd_kv', 'd_ff', 'num_layers', 'num_decoder_layers', 'num_heads',
  'relative_attention_num_buckets', 'relative_attention_max_distance', 'layer_norm_epsilon',
  'feed_forward_proj', 'tie_word_embeddings', 'pad_token_id', 'eos_token_id',
  'decoder_start_token_id', 'dropout_rate', 'norm_groups',
]);

/** Parses an HF T5 config object; `source` names the file in error messages. */
export function parseConfig(json: unknown, source: string): T5Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(source, '(root)', 'expected a JSON object', 'write the config as {"d_model": ..., ...}');
  }
  const raw = json as Record<string, unknown>;
  const get = (field: keyof T5Config): unknown => (field in raw ? raw[field] : DEFAULTS[field]);

  const int = (field: keyof T5Config, min: number): number => {
    const v = get(field);
    if (v === undefined) {
      throw new ConfigError(source, field, 'is missing', `add "${field}" (an integer ≥ ${min}) to the config`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ConfigError(source, field, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`,
        `set "${field}" to an integer ≥ ${min}`);
    }
    return v;
  };
  const num = (field: keyof T5Config, min: number, max: number): number => {
    const v = get(field);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new ConfigError(source, field, `expected a number in [${min}, ${max}], got ${JSON.stringify(v)}`,
        `set "${field}" to a number in [${min}, ${max}]`);
    }
    return v;
  };

  const vocab = int('vocab_size', 1);
  const dModel = int('d_model', 1);
  const numLayers = int('num_layers', 1);
  const config: T5Config = {
    vocab_size: vocab,
    d_model: dModel,
    d_kv: int('d_kv', 1),
    d_ff: int('d_ff', 1),
    num_layers: numLayers,
    num_decoder_layers: raw.num_decoder_layers == null ? numLayers : int('num_decoder_layers', 1),
    num_heads: int('num_heads', 1),
    relative_attention_num_buckets: int('relative_attention_num_buckets', 2),
    relative_attention_max_distance: int('relative_attention_max_distance', 1),
    layer_norm_epsilon: num('layer_norm_epsilon', 0, 1),
    feed_forward_proj: feedForward(get('feed_forward_proj'), source),
    tie_word_embeddings: bool(get('tie_word_embeddings'), 'tie_word_embeddings', source),
    pad_token_id: int('pad_token_id', 0),
    eos_token_id: int('eos_token_id', 0),
    decoder_start_token_id: int('decoder_start_token_id', 0),
    dropout_rate: num('dropout_rate', 0, 1),
  };
  for (const field of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (config[field] >= vocab) {
      throw new ConfigError(source, field, `${config[field]} is not below vocab_size ${vocab}`,
        `use a token id in [0, ${vocab})`);
    }
  }
  const gated = raw.is_gated_act;
  if (typeof gated === 'boolean' && gated !== (config.feed_forward_proj === 'gated-gelu')) {
    throw new ConfigError(source, 'is_gated_act',
      `${gated} contradicts feed_forward_proj "${config.feed_forward_proj}"`,
      'remove "is_gated_act" or make it true exactly when feed_forward_proj is "gated-gelu"');
  }
  if (raw.norm_groups != null) config.norm_groups = normGroups(raw.norm_groups, dModel, source);
  const extra = Object.fromEntries(Object.entries(raw).filter(([k]) => !KNOWN_FIELDS.has(k)));
  if (Object.keys(extra).length > 0) config.extra = extra;
  return config;
}

function feedForward(v: unknown, source: string): FeedForwardProj {
  if (v === 'relu' || v === 'gated-gelu') return v;
  throw new ConfigError(source, 'feed_forward_proj', `unsupported value ${JSON.stringify(v)}`,
    'use "relu" (T5 v1.0) or "gated-gelu" (T5 v1.1)');
}

function bool(v: unknown, field: string, source: string): boolean {
  if (typeof v === 'boolean') return v;
  throw new ConfigError(source, field, `expected true or false, got ${JSON.stringify(v)}`, `set "${field}" to true or false`);
}

function normGroups(v: unknown, dModel: number, source: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((g) => typeof g !== 'number' || !Number.isInteger(g) || g < 1)) {
    throw new ConfigError(source, 'norm_groups', `expected a non-empty list of positive integers, got ${JSON.stringify(v)}`,
      'list the group sizes, e.g. [256, 256], or remove the field for one group');
  }
  const sum = (v as number[]).reduce((a, b) => a + b, 0);
  if (sum !== dModel) {
    throw new ConfigError(source, 'norm_groups', `sizes ${JSON.stringify(v)} sum to ${sum}, not d_model ${dModel}`,
      'make the group sizes add up to d_model');
  }
  return [...(v as number[])];
}

/** The HF config.json object for a config (extra fields first, then ours). */
export function configToJson(config: T5Config): Record<string, unknown> {
  const { extra, norm_groups, ...fields } = config;
  return {
    model_type: 't5',
    architectures: ['T5ForConditionalGeneration'],
    ...extra,
    ...fields,
    ...(norm_groups ? { norm_groups } : {}),
  };
}

/** Feature groups of every RMSNorm: the configured groups, or one group of d_model. */
export function normGroupsOf(config: T5Config): number[] {
  return config.norm_groups ?? [config.d_model];
}

/** Builds a config from the fields that differ from a small T5 v1.1 default. */
export function makeConfig(fields: Partial<T5Config> &
  Pick<T5Config, 'vocab_size' | 'd_model' | 'd_kv' | 'd_ff' | 'num_layers' | 'num_heads'>): T5Config {
  return parseConfig({ feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, dropout_rate: 0, ...fields }, '(in code)');
}
