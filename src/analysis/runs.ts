// The models of a training run in step order, for analyses over training: the model it started
// from (step 0: for a run trained on from a fusion, the fused model), its kept checkpoints and
// final/. How many there are is the run's `checkpoint_every` and `keep_checkpoints`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError } from '../errors';
import { readJsonFile } from '../io/checkpoint';
import { fusionPlanOf } from '../fusion/record';
import type { FusionPlan } from '../fusion/plan';
import { readTrainerState } from '../training/checkpoint';
import { FINAL_DIR, listCheckpoints, RUN_FILE } from '../training/run_dir';

export interface RunPoint {
  step: number;
  dir: string;
}

/** The directory a run started from (`--from`), if it still exists. */
export function runInit(runDir: string): string | undefined {
  const file = path.join(runDir, RUN_FILE);
  if (!fs.existsSync(file)) return undefined;
  const init = (readJsonFile(file, 'the run description') as { init?: { from?: unknown } }).init;
  if (typeof init?.from !== 'string') return undefined;
  // Runs record it relative to the run directory (older runs: absolute), so a moved tree still finds it.
  const from = path.resolve(runDir, init.from);
  return fs.existsSync(from) ? from : undefined;
}

/** The run's models by step: its starting model (step 0), checkpoints and final/ (duplicate steps once). */
export function runPoints(runDir: string): RunPoint[] {
  if (!fs.existsSync(path.join(runDir, RUN_FILE))) {
    throw new FileError(runDir, `is not a run directory (no ${RUN_FILE})`, 'give the directory a training run wrote (deepfusion pretrain --run, or a plan job\'s run/)');
  }
  const points: RunPoint[] = [];
  const init = runInit(runDir);
  if (init) points.push({ step: 0, dir: init });
  points.push(...listCheckpoints(runDir));
  const finalDir = path.join(runDir, FINAL_DIR);
  if (fs.existsSync(finalDir)) points.push({ step: readTrainerState(finalDir).step, dir: finalDir });
  const byStep = new Map<number, RunPoint>();
  for (const p of points) byStep.set(p.step, p);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The fusion plan of a model directory; a model that was not fused is an error naming the fix. */
export function requireFusionPlan(dir: string): FusionPlan {
  const plan = fusionPlanOf(dir);
  if (!plan) {
    throw new FileError(dir, 'has no fusion.json: it was not made by fuse / self-fuse (or trained on from such a model)',
      'analyse a fused model or a run trained on from one; models fused before fusion.json existed can be fused again');
  }
  return plan;
}

/** Every `every`-th point, by step (step % every === 0), plus the last; all when every is 0. */
export function everyNth(points: readonly RunPoint[], every: number): RunPoint[] {
  if (every <= 0) return [...points];
  return points.filter((p, i) => p.step % every === 0 || i === points.length - 1);
}
