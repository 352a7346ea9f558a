// Every setting of a training run, declared once (src/util/settings.ts): `deepfusion pretrain`'s
// flags and --help, training-config files, plan `train:` nodes and their `defaults:`, the typed
// settings the training loop reads and which of them a resumed run must keep all derive from
// these tables. To add a setting, add an entry here and use it where it matters.
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { readJsonFile } from '../io/checkpoint';
import { DATA_SETTINGS, type DataSettings } from '../data/settings';
import { PRECISIONS, resolvePrecision, type Precision } from '../engine/precision';
import { custom, defineSettings, int, num, oneOf, SettingProblem, text, type Layer, type SettingValues } from '../util/settings';
import { defaultOptimizerSpec, OPTIMIZER_NAMES, parseOptimizerSpec, type OptimizerSpec } from './optimizers/spec';
import { PRESET_NAMES, type PresetName } from './presets';
import { parseScheduleSpec, SCHEDULE_KINDS, T5_SCHEDULE, type ScheduleKind, type ScheduleSpec } from './schedules';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which model a run trains: exactly one of these. */
export const MODEL_SETTINGS = defineSettings('training setting', {
  preset: oneOf(PRESET_NAMES, {
    group: 'Model', arg: '<name>', help: 'tiny (tests), s, m, l: d_model 128/256/512, 4+4 layers, gated-GELU; fuse(s, s) has the shape of m. The vocabulary is the tokenizer\'s',
  }),
  model: custom<Record<string, unknown> | string | undefined>({
    flag: null, group: 'Model', arg: '<config>', help: 'a T5 config (Hugging Face config.json fields) or the path of one',
    parse: (v) => {
      if (typeof v === 'string' && v !== '') return v;
      if (isObject(v)) return v;
      throw new SettingProblem('expected a T5 config object or the path of a config.json', 'a T5 config, e.g. {"d_model": 128, ...}, or "path/to/config.json"');
    },
  }),
  from: text({ group: 'Model', arg: '<model-dir>', help: 'continue training a model directory (e.g. a fused one)' }),
  optimizer_state: oneOf(['reset', 'carry', 'auto'] as const, {
    group: 'Model', arg: '<s>', defaultText: 'reset; in a plan, auto',
    help: 'with --from: reset (fresh optimizer state), carry (the state saved with the model) or auto (carry when the model has state)',
  }),
});

/**
 * The precision of the matrix products (src/engine/precision.ts). Its default is the machine's:
 * bf16 where the native backend has AVX512-BF16 products. It is resolved when the settings are,
 * so a run's identity and a plan job's key hold the precision that actually runs, never "the
 * machine's default": the same plan on a machine without bf16 makes other jobs, not the same
 * jobs computed differently. bf16 asked for where it cannot run falls back to fp32, saying so.
 */
export const PRECISION_SETTING = oneOf(PRECISIONS, {
  group: 'Training', arg: '<bf16|fp32>', defaultText: 'bf16 on a CPU with AVX512-BF16 (native backend), else fp32',
  help: 'matrix products in bf16 (summed in float32; parameters, optimizer state, norms, softmax and the loss stay float32) or all float32',
});

/** How a run trains. `lr` and `warmup` adjust the schedule; the resolved settings hold the schedule only. */
export const TRAINING_SETTINGS = defineSettings('training setting', {
  steps: int({ default: 1000, min: 0, max: 100_000_000, group: 'Training', identity: false, help: 'updates in all (a larger number continues a finished run)' }),
  // Not an identity of its own: the data's description (part of the identity) holds it.
  batch_size: int({ default: 16, min: 1, max: 65_536, flag: 'batch', arg: 'B', group: 'Training', identity: false, help: 'sequences per micro-batch' }),
  grad_accumulation: int({ default: 1, min: 1, max: 65_536, arg: 'K', group: 'Training', help: 'micro-batches per update' }),
  optimizer: custom<OptimizerSpec>({
    default: defaultOptimizerSpec('adafactor'), group: 'Training', arg: '<name>', defaultText: "adafactor with T5's settings",
    help: `${OPTIMIZER_NAMES.join(' or ')}; in a config file also {"name": ..., hyperparameters}`,
    parse: (v, source) => parseOptimizerSpec(v, source),
  }),
  schedule: custom<Record<string, unknown> | undefined>({
    group: 'Training', arg: '<kind>', defaultText: 'inverse-sqrt',
    help: `${SCHEDULE_KINDS.join(', ')}; in a config file also the full spec {"kind": ..., ...}`,
    parse: (v, source) => {
      if (typeof v === 'string') return { kind: v };
      if (isObject(v)) return { ...v };
      throw new ConfigError(source, 'schedule', `expected a schedule kind or spec, got ${JSON.stringify(v)}`, `use one of ${SCHEDULE_KINDS.join(', ')}`);
    },
  }),
  lr: num({
    above: 0, group: 'Training', identity: false, defaultText: "0.01 for adafactor (T5's 1/sqrt(max(t, 10k))), 1e-3 for adamw, 0.1 for sgd",
    help: 'peak learning rate; for inverse-sqrt, base = lr·sqrt(warmup)',
  }),
  warmup: int({ min: 0, max: 100_000_000, group: 'Training', identity: false, defaultText: '10000 adafactor, 1000 adamw, 100 sgd (inverse-sqrt)', help: 'warmup steps' }),
  lr_offset: int({
    default: 0, min: -100_000_000, max: 100_000_000, arg: 'K', group: 'Training',
    help: 'evaluate the schedule at step + K (negative: a higher rate after fusion; docs/fusion.md)',
  }),
  clip_norm: num({ nullable: true, min: 0, group: 'Training', defaultText: 'none for adafactor and sgd, 1 for adamw', help: 'global gradient-norm limit (none: no clipping)' }),
  dropout: num({ nullable: true, default: null, min: 0, max: 1, arg: 'P', defaultText: "the model config's", group: 'Training', help: 'dropout rate' }),
  seed: int({ default: 0, min: 0, max: 2 ** 31 - 1, arg: 'S', group: 'Training', help: 'initialisation, data order and dropout' }),
  precision: PRECISION_SETTING,
});

/** Where a run writes and how often; none of these changes the numbers. */
export const RUN_SETTINGS = defineSettings('training setting', {
  run: text({ group: 'Run', arg: '<dir>', identity: false, defaultText: 'runs/pretrain-<preset>', help: 'run directory' }),
  eval_every: int({ default: 100, min: 0, max: 100_000_000, group: 'Run', identity: false, help: 'evaluate every N steps (also before the first and after the last)' }),
  checkpoint_every: int({ default: 250, min: 0, max: 100_000_000, group: 'Run', identity: false, help: 'checkpoint every N steps (0: only the final model)' }),
  keep_checkpoints: int({ default: 2, min: 0, max: 1000, group: 'Run', identity: false, help: 'checkpoints kept besides final/' }),
  track_replicas_every: int({
    default: 0, min: 0, max: 100_000_000, group: 'Run', identity: false,
    help: 'for a fused model (or one trained on from it): every N steps, log to metrics.jsonl how far the blocks from each ' +
      'source have moved apart, how alike their gradients are and the norm of the off-diagonal blocks (0: off; docs/dynamics.md)',
  }),
});

/** Everything a plan's train node takes: a training run but for its directory and data, which the plan gives. */
export const NODE_SETTINGS = MODEL_SETTINGS.with(TRAINING_SETTINGS).with(RUN_SETTINGS.omit(['run']));

/** Everything `deepfusion pretrain` and a training config take. */
export const PRETRAIN_SETTINGS = NODE_SETTINGS.with(RUN_SETTINGS.pick(['run'])).with(DATA_SETTINGS, 'training setting');

export type OptimizerStateChoice = 'carry' | 'reset' | 'auto';

/** The model to train: a preset, a T5 config (HF fields), or a model directory to continue. */
export type ModelChoice =
  | { preset: PresetName }
  | { config: Record<string, unknown>; source: string }
  | { from: string; optimizer_state: OptimizerStateChoice };

type Declared = SettingValues<typeof TRAINING_SETTINGS.decls> & SettingValues<typeof RUN_SETTINGS.decls>;

/** What the training loop reads: the declared settings with the optimizer, schedule and clipping resolved. */
export type TrainSettings = Omit<Declared, 'run' | 'lr' | 'warmup' | 'optimizer' | 'schedule' | 'clip_norm' | 'precision'> & {
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  clip_norm: number | null;
  precision: Precision;
};

/** A model and how to train it: a plan's train node (with `from` naming a node). */
export type ModelTrainSettings = TrainSettings & { model: ModelChoice };

/** A whole pre-training run: the model, where it runs, its data and how it trains. */
export type PretrainSettings = ModelTrainSettings & { run: string; data: DataSettings };

/** The settings a resumed run must keep, as the loop holds them. */
export const RESUME_IDENTITY = TRAINING_SETTINGS.identityKeys().filter((k): k is keyof TrainSettings & typeof k => k !== 'lr' && k !== 'warmup');

/**
 * Training settings from their defaults and typed values (tests and library callers that build
 * runs in code). Precision defaults to fp32 here, so such runs compute the same bits on any machine.
 */
export function trainSettings(values: Partial<TrainSettings> = {}): TrainSettings {
  const { lr: _lr, warmup: _w, run: _r, schedule: _s, clip_norm: _c, ...declared } = { ...TRAINING_SETTINGS.defaults(), ...RUN_SETTINGS.defaults() };
  return { ...declared, schedule: T5_SCHEDULE, clip_norm: null, precision: 'fp32', ...values };
}

/** Peak learning rate and warmup each optimizer starts from when the settings do not say. */
const OPTIMIZER_LR: Record<OptimizerSpec['name'], { lr: number; warmup: number; clip_norm: number | null }> = {
  // T5: Adafactor with the inverse-sqrt schedule at base 1, i.e. 0.01 through 10k warmup steps.
  adafactor: { lr: 0.01, warmup: 10_000, clip_norm: null },
  adamw: { lr: 1e-3, warmup: 1000, clip_norm: 1 },
  // Plain SGD for the growth-dynamics analyses (docs/dynamics.md): no clipping, which would change the step h.
  sgd: { lr: 0.1, warmup: 100, clip_norm: null },
};

/** Reads a training-config file: its fields, or, for an HF model config.json, the model it describes. */
export function readTrainingConfigFile(file: string): Record<string, unknown> {
  const json = readJsonFile(file, 'the training config');
  if (!isObject(json)) {
    throw new ConfigError(file, '(root)', 'expected a JSON object', 'write the training config as {"preset": "s", "steps": 1000, ...}');
  }
  return 'd_model' in json ? { model: json } : json;
}

/**
 * Settings from defaults ← each layer in turn (a config file, then flags). A flag naming the
 * optimizer a file configures keeps the file's hyperparameters.
 */
export function resolvePretrainSettings(layers: readonly Layer[]): PretrainSettings {
  const raw = PRETRAIN_SETTINGS.resolve(keepFileOptimizer(layers));
  const { corpus, tokenizer, vocab_size, input_length, eval_batches, eval_batch_size, run, ...rest } = raw;
  const s = resolveModelTraining(rest, sourceOf(layers), 'reset');
  return {
    ...s, run: run ?? defaultRunDir(s.model),
    data: { corpus, tokenizer, vocab_size, input_length, eval_batches, eval_batch_size: eval_batch_size ?? raw.batch_size },
  };
}

/** A plan node's training settings from its layers (the plan's defaults, then the node's own fields). */
export function resolveNodeSettings(layers: readonly Layer[]): ModelTrainSettings {
  return resolveModelTraining(NODE_SETTINGS.resolve(keepFileOptimizer(layers)), sourceOf(layers), 'auto');
}

const sourceOf = (layers: readonly Layer[]): string => layers.map((l) => l.source).join(' + ') || '(defaults)';

/** A layer naming (as a string) the optimizer an earlier layer configures (as an object) keeps its hyperparameters. */
function keepFileOptimizer(layers: readonly Layer[]): Layer[] {
  const configured = layers.map((l) => l.values.optimizer).find(isObject);
  return layers.map((l) => (typeof l.values.optimizer === 'string' && configured?.name === l.values.optimizer
    ? { ...l, values: { ...l.values, optimizer: undefined } } : l));
}

function resolveModelTraining(raw: SettingValues<typeof NODE_SETTINGS.decls>, source: string,
  optimizerState: OptimizerStateChoice): ModelTrainSettings {
  const model = modelChoice(raw, source, optimizerState);
  const { preset: _p, model: _m, from: _f, optimizer_state: _o, ...rest } = raw;
  return { ...resolveSchedule(rest, source), model };
}

type ScheduleFields = {
  optimizer: OptimizerSpec; schedule?: Record<string, unknown>; lr?: number; warmup?: number; clip_norm?: number | null; steps: number;
  precision?: Precision;
};

/**
 * Declared training values with the schedule resolved from `schedule`, `lr` and `warmup`, the
 * optimizer's clipping default filled in and the precision resolved for this machine (what
 * pretraining and fine-tuning both do).
 */
export function resolveSchedule<R extends ScheduleFields>(raw: R, source: string):
  Omit<R, 'lr' | 'warmup' | 'schedule' | 'clip_norm' | 'precision'> & { schedule: ScheduleSpec; clip_norm: number | null; precision: Precision } {
  const d = OPTIMIZER_LR[raw.optimizer.name];
  const { lr: _lr, warmup: _w, schedule: _s, clip_norm, precision, ...rest } = raw;
  return {
    ...rest, schedule: scheduleOf(raw, d, source), clip_norm: clip_norm === undefined ? d.clip_norm : clip_norm,
    precision: resolvePrecision(precision),
  };
}

function modelChoice(raw: SettingValues<typeof NODE_SETTINGS.decls>, source: string, optimizerState: OptimizerStateChoice): ModelChoice {
  const given = (['preset', 'model', 'from'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    throw new ConfigError(source, given.length ? given.join(' + ') : 'preset',
      given.length ? 'more than one model is given' : 'no model is given',
      `give exactly one of "preset" (${PRESET_NAMES.join(', ')}), "model" (a T5 config) or "from" (a model directory)`);
  }
  if (raw.preset !== undefined) return { preset: raw.preset };
  if (raw.from !== undefined) return { from: raw.from, optimizer_state: raw.optimizer_state ?? optimizerState };
  if (typeof raw.model === 'string') return { config: readJsonFile(raw.model, 'the model config') as Record<string, unknown>, source: raw.model };
  return { config: raw.model ?? {}, source };
}

function defaultRunDir(model: ModelChoice): string {
  if ('preset' in model) return path.join('runs', `pretrain-${model.preset}`);
  if ('from' in model) return path.join('runs', `continue-${path.basename(path.resolve(model.from))}`);
  return path.join('runs', `pretrain-${path.basename(model.source, '.json')}`);
}

/**
 * The schedule: `schedule` (a kind or a full spec), else the inverse-sqrt schedule; then the
 * shortcuts `warmup` (steps) and `lr` (the peak rate, whatever the kind: for inverse-sqrt,
 * base = lr · sqrt(warmup)). Linear and cosine decay end at `steps` unless told otherwise.
 */
function scheduleOf(raw: { schedule?: Record<string, unknown>; lr?: number; warmup?: number; steps: number },
  d: { lr: number; warmup: number }, source: string): ScheduleSpec {
  const spec: Record<string, unknown> = raw.schedule ?? { kind: 'inverse-sqrt' };
  const kind = spec.kind as ScheduleKind;
  if (!SCHEDULE_KINDS.includes(kind)) {
    throw new ConfigError(source, 'schedule', `unknown schedule ${JSON.stringify(spec.kind)}`, `use one of ${SCHEDULE_KINDS.join(', ')}`);
  }
  if (raw.warmup !== undefined) spec.warmup = raw.warmup;
  else if (spec.warmup === undefined) spec.warmup = kind === 'inverse-sqrt' ? d.warmup : kind === 'constant' ? 0 : Math.min(d.warmup, Math.floor(raw.steps / 10));
  const warmup = spec.warmup;
  const peak = raw.lr ?? spec.lr ?? (kind === 'inverse-sqrt' && spec.base !== undefined ? undefined : d.lr);
  if (peak !== undefined) {
    if (typeof peak !== 'number' || !(peak > 0)) throw new ConfigError(source, 'lr', `expected a positive number, got ${JSON.stringify(peak)}`, 'set "lr" to the peak learning rate, e.g. 0.01');
    if (kind === 'inverse-sqrt') {
      delete spec.lr;
      spec.base = peak * Math.sqrt(Math.max(1, typeof warmup === 'number' ? warmup : 1));
    } else {
      spec.lr = peak;
    }
  }
  if ((kind === 'linear' || kind === 'cosine') && spec.total === undefined) spec.total = Math.max(raw.steps, typeof warmup === 'number' ? warmup : 0, 1);
  return parseScheduleSpec(spec, source);
}
