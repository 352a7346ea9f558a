// `train` nodes: pre-train a model from a preset or config, or continue training another node's
// model (a fused one, typically), with any training setting (src/training/settings.ts); the data
// settings come from the plan.
import * as path from 'node:path';
import { replicaProbeFor } from '../../analysis/replicas';
import { DATA_SETTINGS } from '../../data/settings';
import { spanCorruptionLengths } from '../../data/span_corruption';
import { initEngine } from '../../engine';
import { readConfig } from '../../io/checkpoint';
import { t5TrainingStepFlops } from '../../model/flops';
import { hasOptimizerState } from '../../training/optimizers/state_io';
import { newModelConfig, pretrain } from '../../training/pretrain';
import { resolveNodeSettings, type ModelTrainSettings, type PretrainSettings } from '../../training/settings';
import type { JobSpec, NodeKind } from '../job';
import { withPlanPositions } from '../plan_positions';
import { inputModel, peakRssMb } from './common';

/** A train node's settings; `model.from`, when present, names the node whose model it continues. */
export type TrainNodeSettings = ModelTrainSettings;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const trainKind: NodeKind<TrainNodeSettings> = {
  name: 'train',
  readsData: true,
  parse(raw, at, src, defaults) {
    if (!isObject(raw)) return src.fail(at, 'expected the training settings', 'write train: {preset: s, steps: 1000}');
    for (const key of [...DATA_SETTINGS.keys, 'run']) {
      if (key in raw || key in defaults) {
        src.fail(key in raw ? [...at, key] : ['defaults', key], 'is a data setting of the whole plan',
          key === 'run' ? 'remove it: the runner gives every job its own directory' : `set it under data: (data: {${key}: ...})`);
      }
    }
    if (raw.from !== undefined && typeof raw.from !== 'string') src.fail([...at, 'from'], 'expected a node name', 'write from: <node>');
    // A node that continues another node's model takes no preset or model config from the defaults.
    const { preset: _p, model: _m, ...shared } = defaults;
    const layers = [
      { values: raw.from === undefined ? defaults : shared, source: `${src.file}: defaults` },
      { values: raw, source: `${src.file}: ${at.join('.')}` },
    ];
    return withPlanPositions(src, at, raw, defaults, () => resolveNodeSettings(layers));
  },
  inputs: (s) => ('from' in s.model ? [s.model.from] : []),
  // Training keeps the shape of the model it continues; a new model's shape is checked as pretrain checks it.
  config: (s, [input], vocabSize) => ('from' in s.model ? input : newModelConfig(s.model, vocabSize)),
  label: (s) => `train ${'from' in s.model ? `from ${s.model.from}` : 'preset' in s.model ? s.model.preset : 'model'} · ${s.steps} steps`,
  reseed: (s, offset) => ({ ...s, seed: s.seed + offset }),
  async run(job: JobSpec<TrainNodeSettings>, emit) {
    await initEngine();
    const node = job.settings;
    let model = node.model;
    if ('from' in model) {
      const from = path.resolve(inputModel(job, 0));
      // Continue with the optimizer state the input model carries (a `carry` fusion), unless told otherwise.
      const state = model.optimizer_state === 'auto' ? (hasOptimizerState(from) ? 'carry' : 'reset') : model.optimizer_state;
      model = { from, optimizer_state: state };
    }
    const settings: PretrainSettings = { ...node, model, run: path.join(job.dir, 'run'), data: job.data };
    const result = await pretrain(settings, {
      onEvent: (e) => {
        if (e.type === 'train') emit({ type: 'progress', step: e.step, total: settings.steps, loss: e.loss, tokensPerSecond: e.tokens_per_s });
      },
      onData: (line) => emit({ type: 'note', text: line }),
      probe: replicaProbeFor('from' in model ? model.from : undefined, settings.track_replicas_every),
    });
    const config = readConfig(result.finalDir);
    const { targetLength } = spanCorruptionLengths(settings.data.input_length);
    const stepFlops = t5TrainingStepFlops(config, {
      batch: settings.batch_size * settings.grad_accumulation, inputLength: settings.data.input_length, targetLength,
    });
    const evals = result.evals.map((e) => ({
      step: e.step, tokens: e.tokens, flops: e.step * stepFlops, seconds: e.elapsed, val_loss: e.val_loss, val_accuracy: e.val_accuracy,
    }));
    return {
      kind: 'train',
      model: path.relative(job.dir, result.finalDir),
      flops: result.step * stepFlops,
      seconds: result.lastTrain?.elapsed ?? evals.at(-1)?.seconds ?? 0,
      steps: result.step,
      peak_rss_mb: peakRssMb(),
      evals,
      facts: {
        d_model: config.d_model, num_heads: config.num_heads, d_ff: config.d_ff,
        grouped: config.norm_groups !== undefined, flops_per_step: stepFlops, precision: settings.precision,
        optimizer_state: 'from' in model ? model.optimizer_state : null,
        resumed: result.resumedFrom !== null,
      },
    };
  },
};
