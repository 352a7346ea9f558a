// The fusion operator as data (docs/fusion.md, "What happens to every tensor"): for every tensor of the fused model, where
// each source's tensor goes and by how much it is scaled. Parameters and optimizer moments are
// both built from such plans by one routine (place.ts), in memory or streamed from files.
import type { T5Config } from '../model/config';
import { normGroupsOf } from '../model/config';
import { paramSpecs } from '../model/params';

/**
 * `grouped`: every RMSNorm normalises each source's features on its own (exact for any sources).
 * `joint`: a plain T5 (exact for self-fusion only).
 */
export type NormMode = 'grouped' | 'joint';

/** One source tensor placed into a fused tensor: `out[offset + idx] += scale · source[idx]`. */
export interface Part {
  source: number;
  /** Name of the tensor in the source (parameter or optimizer-state key). */
  name: string;
  shape: number[];
  offset: number[];
  scale: number;
}

export interface TensorPlan {
  name: string;
  shape: number[];
  /**
   * Per axis: true when the sources' extents are laid end to end (source 1 first), false when
   * every source spans the whole axis. Both axes split is a block-diagonal weight.
   */
  split: boolean[];
  parts: Part[];
}

export interface FusionPlan {
  config: T5Config;
  sources: T5Config[];
  weights: number[];
  tensors: TensorPlan[];
}

/** The fused config: widths add up, heads and features of source 1 first, the rest from source 1. */
export function fusedConfig(sources: readonly T5Config[], norm: NormMode): T5Config {
  const sum = (field: 'd_model' | 'num_heads' | 'd_ff'): number => sources.reduce((n, c) => n + c[field], 0);
  const { norm_groups: _dropped, ...first } = sources[0];
  const config: T5Config = { ...first, d_model: sum('d_model'), num_heads: sum('num_heads'), d_ff: sum('d_ff') };
  // Already-grouped sources keep their groups, so fusing fused models stays exact.
  if (norm === 'grouped') config.norm_groups = sources.flatMap(normGroupsOf);
  return config;
}

/**
 * Which axes of a parameter are split between the sources. Embedding and output layer [V, d] and
 * the relative bias [buckets, heads] concatenate along their second axis; norms along their only
 * one; every other weight is block-diagonal.
 */
function splitAxes(name: string, rank: number): boolean[] {
  if (name === 'shared.weight' || name === 'lm_head.weight' || name.endsWith('.relative_attention_bias.weight')) {
    return [false, true];
  }
  return rank === 1 ? [true] : [true, true];
}

/**
 * The factor applied to source `i`'s part of a parameter. The output layer carries the output
 * weights; with tied embeddings the decoder's final norm carries them instead, together with
 * `sqrt(d/d_i)` that undoes the fused model's `d^-1/2` output scaling in favour of the source's `d_i^-1/2`.
 */
function valueScale(name: string, i: number, sources: readonly T5Config[], fused: T5Config, weights: readonly number[]): number {
  if (name === 'lm_head.weight') return weights[i];
  if (name === 'decoder.final_layer_norm.weight' && fused.tie_word_embeddings) {
    return weights[i] * Math.sqrt(fused.d_model / sources[i].d_model);
  }
  return 1;
}

/** Lays the parts end to end along split axes and at 0 along shared ones. */
export function placeParts(split: boolean[], shapes: number[][]): number[][] {
  const next = split.map(() => 0);
  return shapes.map((shape) => shape.map((n, axis) => {
    if (!split[axis]) return 0;
    const at = next[axis];
    next[axis] += n;
    return at;
  }));
}

/** Plans a fusion of sources that `checkFusable` accepted, with weights from `outputWeights`. */
export function planFusion(sources: readonly T5Config[], weights: readonly number[], norm: NormMode): FusionPlan {
  const config = fusedConfig(sources, norm);
  const sourceShapes = sources.map((c) => new Map(paramSpecs(c).map((s) => [s.name, s.shape])));
  const tensors = paramSpecs(config).map(({ name, shape }): TensorPlan => {
    const split = splitAxes(name, shape.length);
    const shapes = sourceShapes.map((m) => m.get(name) as number[]);
    const offsets = placeParts(split, shapes);
    return {
      name,
      shape,
      split,
      parts: shapes.map((s, i) => ({
        source: i, name, shape: s, offset: offsets[i], scale: valueScale(name, i, sources, config, weights),
      })),
    };
  });
  return { config, sources: [...sources], weights: [...weights], tensors };
}
