// The tiny training setup shared by the loop tests and the child process they kill.
import { makeConfig } from '../../../src/model/config';
import type { TrainOptions } from '../../../src/training/loop';
import { ADAFACTOR_DEFAULTS } from '../../../src/training/optimizers/adafactor';
import { trainSettings, type TrainSettings } from '../../../src/training/settings';
import { copyData, copyValidation, type CopyTask } from '../../helpers/copy_task';

export const TASK: CopyTask = { vocab: 24, batchSize: 8, length: 8, seed: 5 };

export const TINY = makeConfig({ vocab_size: TASK.vocab, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 1, num_heads: 4,
  relative_attention_num_buckets: 8, relative_attention_max_distance: 16 });

/** Training settings and loop options in one object, as the tests write them. */
export type TinyOverrides = Partial<TrainSettings> & Partial<Omit<TrainOptions, 'settings' | 'runDir'>>;

export function tinyRun(runDir: string, overrides: TinyOverrides = {}): TrainOptions {
  const { init, data, validation, extraFiles, onEvent, score, keepBest, bestFrom, probe, ...settings } = overrides;
  return {
    runDir,
    init: init ?? { config: TINY, seed: 1 },
    data: data ?? copyData(TASK),
    validation: validation ?? copyValidation(TASK, 2),
    settings: trainSettings({
      optimizer: ADAFACTOR_DEFAULTS, schedule: { kind: 'constant', lr: 0.05, warmup: 0 }, steps: 10, eval_every: 0,
      checkpoint_every: 0, ...settings,
    }),
    extraFiles,
    onEvent,
    probe,
    score,
    keepBest,
    bestFrom,
  };
}

/** The run the kill-and-resume tests interrupt (in a child process) and compare. */
export interface ResumableRun {
  runDir: string;
  steps: number;
  checkpoint_every: number;
  grad_accumulation: number;
  dropout: number;
}

export function resumableRun(r: ResumableRun, overrides: TinyOverrides = {}): TrainOptions {
  const { runDir, ...rest } = r;
  return tinyRun(runDir, { ...rest, eval_every: 3, seed: 9, ...overrides });
}
