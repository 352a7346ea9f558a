// `train` nodes: pre-train a model from a preset or config, or continue training another node's
// model (a fused one, typically), with any training setting; data settings come from the plan.
import * as path from 'node:path';
import { initEngine } from '../../engine';
import { t5TrainingStepFlops } from '../../model/flops';
import { readConfig } from '../../io/checkpoint';
import { spanCorruptionLengths } from '../../data/span_corruption';
import { hasOptimizerState } from '../../training/optimizers/state_io';
import { pretrain } from '../../training/pretrain';
import { resolvePretrainSettings, type PretrainFields, type PretrainSettings } from '../../training/pretrain_settings';
import type { JobSpec, NodeKind } from '../job';
import type { DataSettings } from '../plan';
import { inputModel, peakRssMb, withPlanPositions } from './common';

/** Settings a plan gives once, under `data:`, for every node. */
const DATA_FIELDS = ['corpus', 'tokenizer', 'vocab_size', 'input_length', 'eval_batches', 'eval_batch_size'] as const;

function settingsFor(fields: Record<string, unknown>, data: DataSettings, from: string | undefined, run: string, source: string): PretrainSettings {
  const { from: _node, ...rest } = fields;
  const file: PretrainFields = { ...rest, ...Object.fromEntries(DATA_FIELDS.map((k) => [k, data[k]])), run };
  if (from !== undefined) Object.assign(file, { from, optimizer_state: rest.optimizer_state ?? 'reset' });
  return resolvePretrainSettings(file, {}, source);
}

export const trainKind: NodeKind = {
  name: 'train',
  parse(raw, at, src, defaults) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return src.fail(at, 'expected the training settings', 'write train: {preset: s, steps: 1000}');
    }
    const own = raw as Record<string, unknown>;
    for (const key of [...DATA_FIELDS, 'run']) {
      if (key in own || key in defaults) {
        src.fail(key in own ? [...at, key] : ['defaults', key], 'is a data setting of the whole plan',
          key === 'run' ? 'remove it: the runner gives every job its own directory' : `set it under data: (data: {${key}: ...})`);
      }
    }
    if (own.from !== undefined && typeof own.from !== 'string') src.fail([...at, 'from'], 'expected a node name', 'write from: <node>');
    const fields = { ...defaults, ...own };
    if (own.from !== undefined) {
      // A node continues another node's model: no preset or model config of its own.
      delete fields.preset;
      delete fields.model;
    }
    // Validate now with stand-ins for what only exists at run time, so errors show before any job runs.
    withPlanPositions(src, at, own, defaults, () => settingsFor(fields, {
      corpus: 'default', tokenizer: 'default', vocab_size: 8192, input_length: 128, eval_batches: 1, eval_batch_size: 1,
    }, own.from === undefined ? undefined : 'input', 'run', `${src.file}: ${at.join('.')}`));
    return fields;
  },
  inputs: (s) => (typeof s.from === 'string' ? [s.from] : []),
  label: (s) => `train ${typeof s.from === 'string' ? `from ${s.from}` : typeof s.preset === 'string' ? s.preset : 'model'} · ${String(s.steps ?? '')} steps`,
  async run(job: JobSpec, emit) {
    await initEngine();
    const from = job.inputs.length > 0 ? path.resolve(inputModel(job, 0)) : undefined;
    const fields = { ...job.settings };
    // Continue with the optimizer state the input model carries (a `carry` fusion), unless told otherwise.
    if (from !== undefined && fields.optimizer_state === undefined) fields.optimizer_state = hasOptimizerState(from) ? 'carry' : 'reset';
    const settings = settingsFor(fields, job.data, from, path.join(job.dir, 'run'), `job ${job.id}`);
    const result = await pretrain(settings, {
      onEvent: (e) => {
        if (e.type === 'train') emit({ type: 'progress', step: e.step, total: settings.steps, loss: e.loss, tokensPerSecond: e.tokens_per_s });
      },
      onData: (line) => emit({ type: 'note', text: line }),
    });
    const config = readConfig(result.finalDir);
    const { targetLength } = spanCorruptionLengths(settings.data.input_length);
    const stepFlops = t5TrainingStepFlops(config, {
      batch: settings.data.batch_size * settings.grad_accumulation, inputLength: settings.data.input_length, targetLength,
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
        grouped: config.norm_groups !== undefined, flops_per_step: stepFlops,
        optimizer_state: 'from' in settings.model ? settings.model.optimizer_state : null,
        resumed: result.resumedFrom !== null,
      },
    };
  },
};
