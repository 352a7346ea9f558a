// What `deepfusion pretrain` (and any caller of pretrain()) asks for, as one JSON-able object:
// defaults, then a training-config file, then command-line flags, each overriding the last.
// Parsed once, so every bad value is reported with its source and field.
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { readJsonFile } from '../io/checkpoint';
import { DEFAULT_CORPUS, DEFAULT_VOCAB_SIZE } from '../data';
import { parseOptimizerSpec, type OptimizerSpec } from './optimizers/spec';
import { isPresetName, PRESET_NAMES, type PresetName } from './presets';
import { parseScheduleSpec, SCHEDULE_KINDS, type ScheduleKind, type ScheduleSpec } from './schedules';

/** The model to train: a preset, a T5 config (HF fields), or a model directory to continue. */
export type ModelChoice =
  | { preset: PresetName }
  | { config: Record<string, unknown>; source: string }
  | { from: string; optimizer_state: 'carry' | 'reset' };

/** The data a run reads (names as in plan files' `data:`), plus the training batch size and stream seed. */
export interface DataSpec {
  /** 'default' (the bundled corpus) or a path. */
  corpus: string;
  /** 'default' (trained on the corpus, cached) or a tokenizer.json path. */
  tokenizer: string;
  /** Vocabulary of the default tokenizer (ignored for a tokenizer file). */
  vocab_size: number;
  input_length: number;
  batch_size: number;
  eval_batches: number;
  eval_batch_size: number;
  seed: number;
}

export interface PretrainSettings {
  model: ModelChoice;
  run: string;
  data: DataSpec;
  steps: number;
  grad_accumulation: number;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  lr_offset: number;
  clip_norm: number | null;
  eval_every: number;
  checkpoint_every: number;
  keep_checkpoints: number;
  /** null: the model config's dropout_rate. */
  dropout: number | null;
  seed: number;
}

/** Fields a training-config file (and the flags) may set. `lr` and `warmup` adjust the schedule. */
const FIELDS = [
  'preset', 'model', 'from', 'optimizer_state', 'run', 'steps', 'batch_size', 'grad_accumulation', 'input_length',
  'optimizer', 'schedule', 'lr', 'warmup', 'lr_offset', 'clip_norm', 'eval_every', 'eval_batches', 'eval_batch_size',
  'checkpoint_every', 'keep_checkpoints', 'dropout', 'seed', 'corpus', 'tokenizer', 'vocab_size',
] as const;

export type PretrainFields = Partial<Record<(typeof FIELDS)[number], unknown>>;

export const DEFAULT_DATA: DataSpec = {
  corpus: DEFAULT_CORPUS, tokenizer: 'default', vocab_size: DEFAULT_VOCAB_SIZE, input_length: 128, batch_size: 16, eval_batches: 8,
  eval_batch_size: 16, seed: 0,
};

// eval_batch_size is left out: it follows batch_size unless given.
const { eval_batch_size: _ebs, ...DATA_FIELDS } = DEFAULT_DATA;
const DEFAULTS = {
  ...DATA_FIELDS, steps: 1000, grad_accumulation: 1, optimizer: 'adafactor', lr_offset: 0, eval_every: 100,
  checkpoint_every: 250, keep_checkpoints: 2, dropout: null, optimizer_state: 'reset',
};

/** Peak learning rate and warmup each optimizer starts from when the settings do not say. */
const OPTIMIZER_LR: Record<OptimizerSpec['name'], { lr: number; warmup: number; clip_norm: number | null }> = {
  // T5: Adafactor with the inverse-sqrt schedule at base 1, i.e. 0.01 through 10k warmup steps.
  adafactor: { lr: 0.01, warmup: 10_000, clip_norm: null },
  adamw: { lr: 1e-3, warmup: 1000, clip_norm: 1 },
};

/** Reads a training-config file: its fields, or, for an HF model config.json, the model it describes. */
export function readTrainingConfigFile(file: string): PretrainFields {
  const json = readJsonFile(file, 'the training config');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(file, '(root)', 'expected a JSON object', 'write the training config as {"preset": "s", "steps": 1000, ...}');
  }
  const raw = json as Record<string, unknown>;
  return 'd_model' in raw ? { model: raw } : raw;
}

/**
 * Settings from defaults ← `file` ← `flags`. `source` names where the merged fields came from
 * in errors (e.g. "train.json + command line").
 */
export function resolvePretrainSettings(file: PretrainFields, flags: PretrainFields, source: string): PretrainSettings {
  for (const key of Object.keys(file)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError(source, key, 'is not a training setting', `remove it; the settings are ${FIELDS.join(', ')}`);
    }
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  // A flag naming the optimizer the file already configures keeps the file's hyperparameters.
  const fileOptimizer = file.optimizer as { name?: unknown } | undefined;
  if (typeof defined.optimizer === 'string' && typeof fileOptimizer === 'object' && fileOptimizer?.name === defined.optimizer) {
    delete defined.optimizer;
  }
  const raw: Record<string, unknown> = { ...DEFAULTS, ...file, ...defined };
  const int = (field: string, min: number): number => {
    const v = raw[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ConfigError(source, field, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`, `set "${field}" to an integer ≥ ${min}`);
    }
    return v;
  };
  const str = (field: string): string => {
    const v = raw[field];
    if (typeof v !== 'string' || v === '') throw new ConfigError(source, field, `expected a non-empty string, got ${JSON.stringify(v)}`, `set "${field}" to a string`);
    return v;
  };
  const numOrNull = (field: string, min: number, max = Infinity): number | null => {
    const v = raw[field];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      throw new ConfigError(source, field, `expected null or a number in [${min}, ${max}], got ${JSON.stringify(v)}`,
        `set "${field}" to null or a number in [${min}, ${max}]`);
    }
    return v;
  };

  const model = modelChoice(raw, source);
  const optimizer = parseOptimizerSpec(raw.optimizer, source);
  const steps = int('steps', 0);
  const defaults = OPTIMIZER_LR[optimizer.name];
  return {
    model,
    run: typeof raw.run === 'string' && raw.run !== '' ? raw.run : defaultRunDir(model),
    data: {
      corpus: str('corpus'), tokenizer: str('tokenizer'), vocab_size: int('vocab_size', 2), input_length: int('input_length', 1),
      batch_size: int('batch_size', 1), eval_batches: int('eval_batches', 1),
      eval_batch_size: raw.eval_batch_size === undefined ? int('batch_size', 1) : int('eval_batch_size', 1),
      seed: int('seed', 0),
    },
    steps,
    grad_accumulation: int('grad_accumulation', 1),
    optimizer,
    schedule: scheduleOf(raw, optimizer, steps, source),
    lr_offset: int('lr_offset', -Number.MAX_SAFE_INTEGER),
    clip_norm: 'clip_norm' in raw ? numOrNull('clip_norm', 0) : defaults.clip_norm,
    eval_every: int('eval_every', 0),
    checkpoint_every: int('checkpoint_every', 0),
    keep_checkpoints: int('keep_checkpoints', 0),
    dropout: numOrNull('dropout', 0, 1),
    seed: int('seed', 0),
  };
}

function modelChoice(raw: Record<string, unknown>, source: string): ModelChoice {
  const given = (['preset', 'model', 'from'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    throw new ConfigError(source, given.length ? given.join(' + ') : 'preset',
      given.length ? 'more than one model is given' : 'no model is given',
      `give exactly one of "preset" (${PRESET_NAMES.join(', ')}), "model" (a T5 config) or "from" (a model directory)`);
  }
  if (raw.preset !== undefined) {
    if (typeof raw.preset !== 'string' || !isPresetName(raw.preset)) {
      throw new ConfigError(source, 'preset', `unknown preset ${JSON.stringify(raw.preset)}`, `use one of ${PRESET_NAMES.join(', ')}`);
    }
    return { preset: raw.preset };
  }
  if (raw.from !== undefined) {
    if (typeof raw.from !== 'string' || raw.from === '') {
      throw new ConfigError(source, 'from', `expected a model directory path, got ${JSON.stringify(raw.from)}`, 'set "from" to a model directory');
    }
    const state = raw.optimizer_state;
    if (state !== 'carry' && state !== 'reset') {
      throw new ConfigError(source, 'optimizer_state', `expected "carry" or "reset", got ${JSON.stringify(state)}`,
        'use "reset" (fresh optimizer state) or "carry" (the state saved with the model)');
    }
    return { from: raw.from, optimizer_state: state };
  }
  if (typeof raw.model === 'string') return { config: readJsonFile(raw.model, 'the model config') as Record<string, unknown>, source: raw.model };
  if (typeof raw.model !== 'object' || raw.model === null || Array.isArray(raw.model)) {
    throw new ConfigError(source, 'model', 'expected a T5 config object or the path of a config.json',
      'write "model": {"d_model": 128, ...} or "model": "path/to/config.json"');
  }
  return { config: raw.model as Record<string, unknown>, source };
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
function scheduleOf(raw: Record<string, unknown>, optimizer: OptimizerSpec, steps: number, source: string): ScheduleSpec {
  const given = raw.schedule;
  const spec: Record<string, unknown> = typeof given === 'object' && given !== null && !Array.isArray(given)
    ? { ...(given as Record<string, unknown>) } : { kind: given ?? 'inverse-sqrt' };
  const kind = spec.kind as ScheduleKind;
  if (!SCHEDULE_KINDS.includes(kind)) {
    throw new ConfigError(source, 'schedule', `unknown schedule ${JSON.stringify(spec.kind)}`, `use one of ${SCHEDULE_KINDS.join(', ')}`);
  }
  const d = OPTIMIZER_LR[optimizer.name];
  const warmupGiven = raw.warmup !== undefined || spec.warmup !== undefined;
  if (raw.warmup !== undefined) spec.warmup = raw.warmup;
  if (!warmupGiven) spec.warmup = kind === 'inverse-sqrt' ? d.warmup : kind === 'constant' ? 0 : Math.min(d.warmup, Math.floor(steps / 10));
  const warmup = spec.warmup as number;
  const peak = raw.lr !== undefined ? raw.lr : spec.lr ?? (kind === 'inverse-sqrt' && spec.base !== undefined ? undefined : d.lr);
  if (peak !== undefined) {
    if (typeof peak !== 'number' || !(peak > 0)) throw new ConfigError(source, 'lr', `expected a positive number, got ${JSON.stringify(peak)}`, 'set "lr" to the peak learning rate, e.g. 0.01');
    if (kind === 'inverse-sqrt') {
      delete spec.lr;
      spec.base = peak * Math.sqrt(Math.max(1, typeof warmup === 'number' ? warmup : 1));
    } else {
      spec.lr = peak;
    }
  }
  if ((kind === 'linear' || kind === 'cosine') && spec.total === undefined) spec.total = Math.max(steps, warmup, 1);
  return parseScheduleSpec(spec, source);
}

