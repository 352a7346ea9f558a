// The tiny training setup shared by the loop tests and the child process they kill.
import { makeConfig } from '../../../src/model/config';
import type { TrainOptions } from '../../../src/training/loop';
import { ADAFACTOR_DEFAULTS } from '../../../src/training/optimizers/adafactor';
import { copyData, copyValidation, type CopyTask } from '../../helpers/copy_task';

export const TASK: CopyTask = { vocab: 24, batchSize: 8, length: 8, seed: 5 };

export const TINY = makeConfig({ vocab_size: TASK.vocab, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 1, num_heads: 4,
  relative_attention_num_buckets: 8, relative_attention_max_distance: 16 });

export function tinyRun(runDir: string, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    runDir,
    init: { config: TINY, seed: 1 },
    data: copyData(TASK),
    validation: copyValidation(TASK, 2),
    optimizer: ADAFACTOR_DEFAULTS,
    schedule: { kind: 'constant', lr: 0.05, warmup: 0 },
    steps: 10,
    ...overrides,
  };
}

/** The run the kill-and-resume tests interrupt (in a child process) and compare. */
export interface ResumableRun {
  runDir: string;
  steps: number;
  checkpointEvery: number;
  gradAccumulation: number;
  dropout: number;
}

export function resumableRun(r: ResumableRun, overrides: Partial<TrainOptions> = {}): TrainOptions {
  const { runDir, ...rest } = r;
  return tinyRun(runDir, { ...rest, evalEvery: 3, seed: 9, ...overrides });
}
