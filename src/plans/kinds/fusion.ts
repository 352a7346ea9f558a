// `fuse` and `selfFuse` nodes: the fusion operators on other nodes' models, streamed to the
// job's directory, with the change of function measured on a probe batch for the report.
import * as path from 'node:path';
import { initEngine } from '../../engine';
import { fuseCheckpoints, selfFuseCheckpoint, verifyCheckpoint, type FusionResult } from '../../fusion/checkpoints';
import { outputWeights } from '../../fusion/compatibility';
import { parseSymmetryNoise } from '../../fusion/noise';
import { probeCase } from '../../fusion/verify';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';
import type { JobResult, JobSpec, NodeKind } from '../job';
import { Fields } from '../plan';
import { inputModel, peakRssMb } from './common';

const MODEL_DIR = 'model';
const NORMS = ['grouped', 'joint'] as const;
const STATES = ['reset', 'carry'] as const;

async function fusionResult(job: JobSpec, started: number, result: FusionResult,
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

export const fuseKind: NodeKind = {
  name: 'fuse',
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'fuse: {sources: [a, b], weights: [0.5, 0.5], norm: grouped, optimizer_state: reset}');
    f.onlyKnown(['sources', 'weights', 'norm', 'optimizer_state']);
    const sources = f.raw('sources');
    if (!Array.isArray(sources) || sources.length < 2 || sources.some((s) => typeof s !== 'string')) {
      f.fail('sources', 'expected a list of at least two node names', 'write sources: [small_a, small_b]');
    }
    const settings: Record<string, unknown> = {
      sources, norm: f.oneOf('norm', NORMS, 'grouped'), optimizer_state: f.oneOf('optimizer_state', STATES, 'reset'),
    };
    if (f.has('weights')) {
      const w = f.raw('weights');
      if (!Array.isArray(w) || w.some((x) => typeof x !== 'number')) f.fail('weights', 'expected a list of numbers', 'write weights: [0.5, 0.5]');
      try {
        outputWeights((sources as string[]).length, w as number[]);
      } catch (err) {
        f.fail('weights', (err as Error).message, 'give one positive weight per source, summing to 1');
      }
      settings.weights = w;
    }
    return settings;
  },
  inputs: (s) => s.sources as string[],
  label: (s) => `fuse ${(s.sources as string[]).length} · ${String(s.norm)}`,
  async run(job) {
    await initEngine();
    const started = performance.now();
    const dirs = job.inputs.map((_, i) => inputModel(job, i));
    const weights = outputWeights(dirs.length, job.settings.weights as number[] | undefined);
    const result = await fuseCheckpoints(dirs, path.join(job.dir, MODEL_DIR), {
      weights, norm: job.settings.norm as 'grouped' | 'joint',
      optimizer: optimizerTransfer(job.settings.optimizer_state as 'reset' | 'carry'),
    });
    return fusionResult(job, started, result, dirs.map((dir, i) => ({ dir, weight: weights[i] })));
  },
};

export const selfFuseKind: NodeKind = {
  name: 'selfFuse',
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'selfFuse: {source: small, copies: 2, noise: "paired:0.01", seed: 0}');
    f.onlyKnown(['source', 'copies', 'noise', 'norm', 'optimizer_state', 'seed']);
    const noise = f.string('noise', 'none');
    if (!parseSymmetryNoise(noise)) f.fail('noise', `expected paired:<std>, plain:<std> or none, got "${noise}"`, 'write noise: "paired:0.01"');
    return {
      source: f.string('source'), copies: f.int('copies', 2, 2), noise, seed: f.int('seed', 0, 0),
      ...(f.has('norm') ? { norm: f.oneOf('norm', NORMS) } : {}),
      optimizer_state: f.oneOf('optimizer_state', STATES, 'reset'),
    };
  },
  inputs: (s) => [s.source as string],
  label: (s) => `self-fuse ×${String(s.copies)} · ${String(s.noise)}`,
  async run(job) {
    await initEngine();
    const started = performance.now();
    const source = inputModel(job, 0);
    const copies = job.settings.copies as number;
    const result = await selfFuseCheckpoint(source, path.join(job.dir, MODEL_DIR), {
      copies, noise: parseSymmetryNoise(job.settings.noise as string), seed: job.settings.seed as number,
      norm: job.settings.norm as 'grouped' | 'joint' | undefined,
      optimizer: optimizerTransfer(job.settings.optimizer_state as 'reset' | 'carry'),
    });
    return fusionResult(job, started, result, [{ dir: source, weight: 1 }]);
  },
};
