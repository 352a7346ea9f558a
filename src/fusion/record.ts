// The fusion record (fusion.json): how a fused model directory was made. The fusion plan
// (plan.ts) is a pure function of the sources' configs, the weights and the norm mode, so the
// record holds those and the plan is rebuilt from it; analyses of a fused model and of the runs
// that train it on read which block of every tensor came from which source from here
// (docs/dynamics.md), never from guesses about the shapes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError } from '../errors';
import { CONFIG_FILE, FUSION_FILE, readConfig, readJsonFile } from '../io/checkpoint';
import { configToJson, parseConfig } from '../model/config';
import type { SymmetryNoise } from './noise';
import { noiseText } from './settings';
import { planFusion, type FusionPlan, type NormMode } from './plan';

export interface FusionRecord {
  operator: 'fuse' | 'self-fuse';
  /** The sources' configs as config.json writes them, in plan order. */
  sources: Array<Record<string, unknown>>;
  weights: number[];
  norm: NormMode;
  /** Self-fusion's symmetry noise (`paired:0.01`, `plain:0.01`, `none`) and its seed. */
  noise?: string;
  seed?: number;
}

export function fusionRecord(plan: FusionPlan, noise?: SymmetryNoise, seed?: number): FusionRecord {
  const self = noise !== undefined;
  return {
    operator: self ? 'self-fuse' : 'fuse',
    sources: plan.sources.map(configToJson),
    weights: [...plan.weights],
    // planFusion gives the fused config norm groups exactly when the norms are grouped.
    norm: plan.config.norm_groups ? 'grouped' : 'joint',
    ...(self ? { noise: noiseText(noise), seed } : {}),
  };
}

export function writeFusionRecord(dir: string, record: FusionRecord): void {
  fs.writeFileSync(path.join(dir, FUSION_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

const FIX = 'remove the fusion.json that does not belong to this model, or copy the one written by the fusion that made it';

/** The fusion record of a model directory, checked for the fields a plan needs. */
export function readFusionRecord(dir: string): FusionRecord {
  const file = path.join(dir, FUSION_FILE);
  const raw = readJsonFile(file, 'the fusion record') as Partial<FusionRecord>;
  if (!Array.isArray(raw.sources) || raw.sources.length < 2 || !Array.isArray(raw.weights) ||
    raw.weights.length !== raw.sources.length || raw.weights.some((w) => typeof w !== 'number') ||
    (raw.norm !== 'grouped' && raw.norm !== 'joint')) {
    throw new FileError(file, 'needs "sources" (≥ 2 configs), "weights" (one number per source) and "norm" (grouped or joint)', FIX);
  }
  return raw as FusionRecord;
}

/**
 * The fusion plan of a model directory, rebuilt from its fusion.json; undefined when the model
 * was not made by fusion (or trained on from one). A record that does not match the model's
 * config.json is refused: its blocks would be the wrong ones.
 */
export function fusionPlanOf(dir: string): FusionPlan | undefined {
  const file = path.join(dir, FUSION_FILE);
  if (!fs.existsSync(file)) return undefined;
  const raw = readFusionRecord(dir);
  const sources = raw.sources.map((c, i) => parseConfig(c, `${file}: sources[${i}]`));
  const plan = planFusion(sources, raw.weights, raw.norm);
  const config = readConfig(dir);
  for (const field of ['d_model', 'd_ff', 'num_heads', 'd_kv', 'num_layers', 'num_decoder_layers', 'vocab_size'] as const) {
    if (config[field] !== plan.config[field]) {
      throw new FileError(file, `describes a model with ${field} ${plan.config[field]}, but ${path.join(dir, CONFIG_FILE)} has ${config[field]}`, FIX);
    }
  }
  return plan;
}
