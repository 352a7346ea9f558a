// Every setting of a fine-tuning run, declared once (src/util/settings.ts): `deepfusion finetune`'s
// flags and --help, a plan's `finetune:` fields and the typed values derive from this table.
// Training settings are the pre-training declarations with T5's fine-tuning defaults: Adafactor
// at a constant rate of 1e-3, the model's own dropout, with steps of absolute size
// (docs/finetune.md#the-recipe explains why not relative to each weight's scale).
import { DATA_SETTINGS } from '../data/settings';
import { TASK_SETTINGS, type TaskSettings } from '../data/tasks';
import { ConfigError } from '../errors';
import { bool, defineSettings, int, oneOf, text, type Layer, type SettingValues } from '../util/settings';
import { defaultOptimizerSpec, type OptimizerSpec } from './optimizers/spec';
import { resolveSchedule, RUN_SETTINGS, TRAINING_SETTINGS, type TrainSettings } from './settings';
import { DECODE_MODES, type DecodeMode } from './task_scoring';

export const FINETUNE_MODEL_SETTINGS = defineSettings('fine-tuning setting', {
  model: text({ group: 'Model', arg: '<dir>', help: 'the pre-trained model directory (e.g. runs/pretrain-s/final)' }),
  init: oneOf(['pretrained', 'random'] as const, {
    default: 'pretrained', group: 'Model', arg: '<w>',
    help: 'random: the model\'s shape with fresh weights (seeded by --seed), the floor any pre-training must beat',
  }),
  tokenizer: text({ group: 'Model', arg: '<file>', defaultText: 'the model\'s tokenizer.json', help: 'the tokenizer.json the model was trained with' }),
});

export const MIXTURE_SETTINGS = defineSettings('fine-tuning setting', {
  mixture: bool({
    default: false, group: 'Fine-tuning',
    help: 'one model learns every task at once, T5\'s multi-task mixture (each task\'s share is its training size, capped at --mixture-cap); otherwise each task is a run of its own',
  }),
  mixture_cap: int({ default: 2000, min: 1, max: 100_000_000, arg: 'K', group: 'Fine-tuning', help: 'with --mixture: examples a task counts for at most' }),
  decode: oneOf(DECODE_MODES, {
    default: 'rank', group: 'Fine-tuning', arg: '<rank|greedy>',
    help: 'rank: the most likely of the task\'s answers (label names, values); greedy: the answer the model writes (naming none counts as wrong)',
  }),
});

/**
 * Adafactor as Hugging Face's T5 fine-tuning recipe sets it: an update's size is the rate itself,
 * not the rate times the weight's RMS. Scaled by the RMS (pre-training's setting), 1e-3 moves a
 * T5-S attention weight of RMS 0.011 by 1e-5 a step, and a few hundred steps barely change the
 * model: measured in docs/finetune.md#the-recipe.
 */
const FINETUNE_OPTIMIZER: OptimizerSpec = { ...defaultOptimizerSpec('adafactor'), scale_parameter: false } as OptimizerSpec;

const FINETUNE_TRAINING = TRAINING_SETTINGS.withDefaults(
  { steps: 300, lr: 1e-3, schedule: { kind: 'constant' }, optimizer: FINETUNE_OPTIMIZER },
  {
    steps: '300 per task; with --mixture, in all', lr: "1e-3 (T5's fine-tuning rate)", schedule: 'constant', warmup: '0 with a constant schedule',
    optimizer: 'adafactor, updates not scaled by the weights\' RMS (scale_parameter false)',
  },
);

const FINETUNE_RUN = RUN_SETTINGS.withDefaults(
  { eval_every: 100, checkpoint_every: 100, keep_checkpoints: 1 },
  { run: 'runs/finetune-<model>-<suite>' },
).with(DATA_SETTINGS.pick(['eval_batches', 'eval_batch_size']).withDefaults({ eval_batches: 4 }));

/** What a plan's finetune node takes (the model is a node there; the runner gives the directory). */
export const FINETUNE_NODE_SETTINGS = FINETUNE_MODEL_SETTINGS.omit(['model']).with(TASK_SETTINGS).with(MIXTURE_SETTINGS)
  .with(FINETUNE_TRAINING).with(FINETUNE_RUN.omit(['run']));

/** Everything `deepfusion finetune` takes. */
export const FINETUNE_SETTINGS = FINETUNE_MODEL_SETTINGS.pick(['model']).with(FINETUNE_NODE_SETTINGS).with(FINETUNE_RUN.pick(['run']));

export interface FinetuneSettings {
  model: string;
  init: 'pretrained' | 'random';
  tokenizer?: string;
  tasks: Pick<TaskSettings, 'suite' | 'task' | 'glue' | 'train_cap' | 'validation_cap' | 'test_cap' | 'input_length'>;
  mixture: boolean;
  mixture_cap: number;
  decode: DecodeMode;
  /** Teacher-forced validation batches for the loss curve, and rows per scoring pass. */
  eval_batches: number;
  eval_batch_size: number;
  train: TrainSettings;
  /** The run directory (the default is chosen by the caller, who knows the suite). */
  run?: string;
}

/** A node's fine-tuning settings without the model (a plan names it as a node). */
export type FinetuneNodeSettings = Omit<FinetuneSettings, 'model' | 'run'>;

/** Settings from their layers (defaults ← a plan's fields or flags). */
export function resolveFinetuneSettings(layers: readonly Layer[]): FinetuneSettings {
  const source = layers.map((l) => l.source).join(' + ') || '(defaults)';
  const { model, run, ...rest } = FINETUNE_SETTINGS.resolve(layers);
  if (model === undefined) {
    throw new ConfigError(source, 'model', 'no model is given', 'give the pre-trained model directory, e.g. --model runs/pretrain-s/final');
  }
  return { ...fromValues(rest, source), model, run };
}

/** A plan node's settings from its own fields. */
export function resolveFinetuneNodeSettings(layers: readonly Layer[]): FinetuneNodeSettings {
  const source = layers.map((l) => l.source).join(' + ') || '(defaults)';
  return fromValues(FINETUNE_NODE_SETTINGS.resolve(layers), source);
}

function fromValues(raw: SettingValues<typeof FINETUNE_NODE_SETTINGS.decls>, source: string): FinetuneNodeSettings {
  const { init, tokenizer, suite, task, glue, train_cap, validation_cap, test_cap, input_length, mixture, mixture_cap, decode,
    eval_batches, eval_batch_size, ...training } = raw;
  const train = resolveSchedule(training, source);
  return {
    init, tokenizer, tasks: { suite, task, glue, train_cap, validation_cap, test_cap, input_length }, mixture, mixture_cap, decode,
    eval_batches, eval_batch_size: eval_batch_size ?? train.batch_size, train,
  };
}
