// Model presets. `s`, `m`, `l` form a width-doubling chain at fixed depth, so that
// fuse(s, s) has exactly the shape of `m` and fuse(m, m) that of `l` (docs/fusion.md, "The fused config": d_model,
// num_heads and d_ff add, d_kv and depth must match). T5 v1.1 style: gated-GELU, untied
// embeddings, no dropout. The vocabulary comes from the tokenizer.
import { makeConfig, type T5Config } from '../model/config';

export type PresetName = 'tiny' | 's' | 'm' | 'l';

interface Shape { d_model: number; num_heads: number; d_kv: number; num_layers: number; relative_attention_num_buckets: number }

const SHAPES: Record<PresetName, Shape> = {
  tiny: { d_model: 32, num_heads: 2, d_kv: 16, num_layers: 2, relative_attention_num_buckets: 8 },
  s: { d_model: 128, num_heads: 2, d_kv: 64, num_layers: 4, relative_attention_num_buckets: 32 },
  m: { d_model: 256, num_heads: 4, d_kv: 64, num_layers: 4, relative_attention_num_buckets: 32 },
  l: { d_model: 512, num_heads: 8, d_kv: 64, num_layers: 4, relative_attention_num_buckets: 32 },
};

export const PRESET_NAMES = Object.keys(SHAPES) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as string[]).includes(name);
}

export function presetConfig(name: PresetName, vocabSize: number): T5Config {
  const s = SHAPES[name];
  return makeConfig({ ...s, d_ff: 4 * s.d_model, num_decoder_layers: s.num_layers, vocab_size: vocabSize });
}
