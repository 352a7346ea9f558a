// Fusion and self-fusion of models held in memory. The file path (checkpoints.ts) runs the same
// plans through the same tensor builder, one tensor at a time.
import { tf } from '../engine/tf';
import { UserError } from '../errors';
import type { Model } from '../io/checkpoint';
import type { T5Config } from '../model/config';
import type { Params } from '../model/params';
import { checkFusable, outputWeights } from './compatibility';
import { addSymmetryNoise, type SymmetryNoise } from './noise';
import { buildTensor, type ReadTensor } from './place';
import { planFusion, type FusionPlan, type NormMode, type TensorPlan } from './plan';

export interface FuseOptions {
  /** Output weights w_i: positive, summing to 1; default 1/k. */
  weights?: readonly number[];
  /** Default `grouped`, exact for any sources. */
  norm?: NormMode;
  /** How to name each source in errors (e.g. its directory); default "source i". */
  labels?: readonly string[];
}

export interface SelfFuseOptions {
  copies?: number;
  /** Default `joint` (a plain T5, exact) unless the source is grouped already: then `grouped`. */
  norm?: NormMode;
  noise?: SymmetryNoise;
  seed?: number;
}

/** Checks the sources and plans their fusion. */
export function planFuse(configs: readonly T5Config[], options: FuseOptions = {}): FusionPlan {
  const labels = options.labels ?? configs.map((_, i) => `source ${i + 1}`);
  checkFusable(configs.map((config, i) => ({ config, label: labels[i] })));
  return planFusion(configs, outputWeights(configs.length, options.weights), options.norm ?? 'grouped');
}

/** Plans the fusion of `copies` replicas of one model, each with output weight 1/copies. */
export function planSelfFuse(config: T5Config, options: SelfFuseOptions = {}): FusionPlan {
  const copies = options.copies ?? 2;
  if (!Number.isInteger(copies) || copies < 2) {
    throw new UserError(`self-fusion: copies must be an integer ≥ 2, got ${copies}. Fix: use 2 to double the width`);
  }
  const norm = options.norm ?? (config.norm_groups ? 'grouped' : 'joint');
  return planFusion(Array.from({ length: copies }, () => config), outputWeights(copies), norm);
}

export interface FusedTensor {
  plan: TensorPlan;
  data: Float32Array;
}

/** The fused tensors in canonical order, each built when asked for, with optional symmetry noise. */
export function* fusedTensors(plan: FusionPlan, read: ReadTensor,
  noise: SymmetryNoise = { kind: 'none' }, seed = 0): Generator<FusedTensor> {
  for (const t of plan.tensors) {
    const data = buildTensor(t, read);
    addSymmetryNoise(t, data, noise, seed);
    yield { plan: t, data };
  }
}

function collect(tensors: Iterable<FusedTensor>): Params {
  const params: Params = {};
  for (const { plan, data } of tensors) params[plan.name] = tf.tensor(data, plan.shape, 'float32');
  return params;
}

const paramReader = (models: readonly Model[]): ReadTensor =>
  ({ source, name }) => models[source].params[name].dataSync() as Float32Array;

/** Fuses k ≥ 2 models (docs/fusion.md): with `grouped` norms, logits = Σ w_i · logits_i. */
export function fuse(sources: readonly Model[], options: FuseOptions = {}): Model {
  const plan = planFuse(sources.map((s) => s.config), options);
  return { config: plan.config, params: collect(fusedTensors(plan, paramReader(sources))) };
}

/** Self-fusion: `copies` replicas side by side; function-preserving unless the noise is `plain`. */
export function selfFuse(source: Model, options: SelfFuseOptions = {}): Model {
  const plan = planSelfFuse(source.config, options);
  const read = paramReader(plan.sources.map(() => source));
  return { config: plan.config, params: collect(fusedTensors(plan, read, options.noise, options.seed)) };
}
