// `fuse` and `selfFuse` nodes: the fusion operators on other nodes' models, streamed to the
// job's directory, with the change of function measured on a probe batch for the report. Their
// settings are the fusion commands' (src/fusion/settings.ts).
import * as path from 'node:path';
import { initEngine } from '../../engine';
import { fuseCheckpoints, selfFuseCheckpoint, verifyCheckpoint, type FusionResult } from '../../fusion/checkpoints';
import { outputWeights } from '../../fusion/compatibility';
import { planFuse, planSelfFuse } from '../../fusion/fuse';
import type { T5Config } from '../../model/config';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';
import { FUSE_SETTINGS, noiseText, SELF_FUSE_SETTINGS } from '../../fusion/settings';
import { probeCase } from '../../fusion/verify';
import type { SettingValues } from '../../util/settings';
import type { JobResult, JobSpec, NodeKind } from '../job';
import { Fields } from '../plan';
import { withPlanPositions } from '../plan_positions';
import { inputModel, peakRssMb } from './common';

const MODEL_DIR = 'model';

export type FuseSettings = SettingValues<typeof FUSE_SETTINGS.decls> & { sources: string[] };
export type SelfFuseSettings = SettingValues<typeof SELF_FUSE_SETTINGS.decls> & { source: string };

async function fusionResult(job: JobSpec<unknown>, started: number, result: FusionResult,
  references: Array<{ dir: string; weight: number }>): Promise<JobResult> {
  const out = path.join(job.dir, MODEL_DIR);
  // How far the fused model is from Σ wᵢ·sourceᵢ (grouped: float precision; joint: the approximation).
  const change = verifyCheckpoint(out, references, probeCase(result.config));
  return {
    kind: job.kind,
    model: MODEL_DIR,
    flops: 0,
    seconds: (performance.now() - started) / 1000,
    steps: 0,
    peak_rss_mb: peakRssMb(),
    evals: [],
    facts: {
      d_model: result.config.d_model, num_heads: result.config.num_heads, d_ff: result.config.d_ff,
      grouped: result.config.norm_groups !== undefined, parameters: result.parameters,
      logits_max_abs_error: change.maxAbs, logits_relative_error: change.relative,
      optimizer_state: result.optimizer ? 'carry' : 'reset',
    },
  };
}

const isNameList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

export const fuseKind: NodeKind<FuseSettings> = {
  name: 'fuse',
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'fuse: {sources: [a, b], weights: [0.5, 0.5], norm: grouped, optimizer_state: reset}');
    const { sources, ...own } = f.rawObject();
    if (!isNameList(sources) || sources.length < 2) return f.fail('sources', 'expected a list of at least two node names', 'write sources: [small_a, small_b]');
    const s = withPlanPositions(src, at, own, {}, () => FUSE_SETTINGS.resolve([{ values: own, source: src.file }]));
    try {
      outputWeights(sources.length, s.weights);
    } catch (err) {
      f.fail('weights', (err as Error).message, 'give one positive weight per source, summing to 1');
    }
    return { ...s, norm: s.norm ?? 'grouped', sources };
  },
  inputs: (s) => s.sources,
  label: (s) => `fuse ${s.sources.length} · ${s.norm}`,
  config: (s, inputs) => (inputs.every((c) => c !== undefined)
    ? planFuse(inputs as T5Config[], { weights: s.weights, norm: s.norm, labels: s.sources.map((n) => `node ${n}`) }).config
    : undefined),
  async run(job) {
    await initEngine();
    const started = performance.now();
    const dirs = job.inputs.map((_, i) => inputModel(job, i));
    const weights = outputWeights(dirs.length, job.settings.weights);
    const result = await fuseCheckpoints(dirs, path.join(job.dir, MODEL_DIR), {
      weights, norm: job.settings.norm, optimizer: optimizerTransfer(job.settings.optimizer_state),
    });
    return fusionResult(job, started, result, dirs.map((dir, i) => ({ dir, weight: weights[i] })));
  },
};

export const selfFuseKind: NodeKind<SelfFuseSettings> = {
  name: 'selfFuse',
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'selfFuse: {source: small, copies: 2, noise: "paired:0.01", seed: 0}');
    const { source, ...own } = f.rawObject();
    if (typeof source !== 'string' || source === '') return f.fail('source', 'expected a node name', 'write source: <node>');
    return { ...withPlanPositions(src, at, own, {}, () => SELF_FUSE_SETTINGS.resolve([{ values: own, source: src.file }])), source };
  },
  inputs: (s) => [s.source],
  label: (s) => `self-fuse ×${s.copies} · ${noiseText(s.noise)}`,
  config: (s, [input]) => (input ? planSelfFuse(input, { copies: s.copies, norm: s.norm }).config : undefined),
  reseed: (s, offset) => ({ ...s, seed: s.seed + offset }),
  async run(job) {
    await initEngine();
    const started = performance.now();
    const source = inputModel(job, 0);
    const { copies, noise, seed, norm, optimizer_state } = job.settings;
    const result = await selfFuseCheckpoint(source, path.join(job.dir, MODEL_DIR), {
      copies, noise, seed, norm, optimizer: optimizerTransfer(optimizer_state),
    });
    return fusionResult(job, started, result, [{ dir: source, weight: 1 }]);
  },
};
