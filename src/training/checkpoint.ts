// A training checkpoint is a model directory (HF layout, loadable by everything that loads
// models) plus the optimizer state and trainer_state.json: everything a run needs to continue
// exactly where it stopped. Written atomically, so a kill at any moment leaves either the whole
// checkpoint or none of it.
import * as path from 'node:path';
import { FileError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { readJsonFile, saveModel, type Model } from '../io/checkpoint';
import type { DataPosition } from '../data/types';
import type { EvalRecord, TrainRecord } from './metrics';
import { saveOptimizerState } from './optimizers/state_io';
import type { Optimizer, OptimizerState } from './optimizers/types';
import type { ScheduleSpec } from './schedules';

export const TRAINER_STATE_FILE = 'trainer_state.json';

export interface TrainerState {
  /** Updates applied to the model in this run. */
  step: number;
  tokens: number;
  elapsed: number;
  /** Where the training stream continues. */
  data_position: DataPosition;
  /** Dropout masks derive from (seed, step, micro-batch) alone, so the seed is the whole RNG state. */
  rng: { seed: number; dropout: 'derived from (seed, step, micro-batch)' };
  schedule: ScheduleSpec;
  lr_offset: number;
  /** Length of metrics.jsonl at this checkpoint. */
  metrics_bytes: number;
  evals: EvalRecord[];
  last_train: TrainRecord | null;
}

export interface Checkpoint {
  model: Model;
  optimizer: Optimizer;
  optimizerState: OptimizerState;
  trainer: TrainerState;
  /** Files copied in (e.g. tokenizer.json), by name in the checkpoint → source path. */
  extraFiles: Record<string, string>;
}

export async function writeCheckpoint(dir: string, c: Checkpoint): Promise<void> {
  await saveModel(dir, c.model, c.extraFiles, (tmp) => {
    saveOptimizerState(tmp, c.optimizer, c.optimizerState);
    writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(c.trainer, null, 2)}\n`);
  });
}

export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, TRAINER_STATE_FILE);
  const state = readJsonFile(file, 'the trainer state') as TrainerState;
  for (const field of ['step', 'tokens', 'elapsed', 'metrics_bytes'] as const) {
    if (typeof state[field] !== 'number' || !(state[field] >= 0)) {
      throw new FileError(file, `field "${field}" must be a number ≥ 0, got ${JSON.stringify(state[field])}`,
        'the checkpoint is damaged; delete this checkpoint directory so the run resumes from an earlier one');
    }
  }
  return state;
}
