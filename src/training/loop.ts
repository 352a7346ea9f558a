// The training loop: steps with gradient accumulation and clipping, evaluation, metrics,
// checkpoints, and exact resume. A run killed at any moment and started again with the same
// options continues from its last checkpoint and produces the same losses as a run that was
// never interrupted: parameters and optimizer state are saved bit-exactly, the data stream
// resumes from its recorded position, and dropout masks derive from (seed, step, micro-batch).
// An optional scorer (fine-tuning's task metric) adds a score to every evaluation, and the model
// of the best score so far can be kept in best/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bf16Unavailable, withPrecision } from '../engine/precision';
import { ConfigError, FileError, UserError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { loadModel, saveModel } from '../io/checkpoint';
import type { T5Config } from '../model/config';
import { countParams, disposeParams, initParams, type Params } from '../model/params';
import { lineChart } from '../report/plot';
import { readTrainerState, writeCheckpoint, type TrainerState } from './checkpoint';
import type { ExampleBatch, TrainData } from '../data/types';
import { evaluate } from './evaluate';
import { METRICS_FILE, MetricsLog, type EvalRecord, type TrainRecord } from './metrics';
import { clipScale, globalNorm } from './optimizers/clip';
import { makeOptimizer } from './optimizers/spec';
import { hasOptimizerState, loadOptimizerState } from './optimizers/state_io';
import type { Optimizer, OptimizerState } from './optimizers/types';
import {
  BEST_DIR, BEST_FILE, checkpointDir, checkRunIdentity, FINAL_DIR, latestCheckpoint, lockRun, pruneCheckpoints, removeLeftovers,
  VAL_LOSS_PLOT, writeRunIdentity, type SavedState,
} from './run_dir';
import { learningRate } from './schedules';
import { RESUME_IDENTITY, type TrainSettings } from './settings';
import { batchTokens, stepGradients } from './step';

/** A model initialised from scratch. */
export interface InitFromScratch { config: T5Config; seed: number }
/** A model directory (e.g. a fused model) to continue training, with its optimizer state or fresh state. */
export interface InitFromModel { from: string; optimizerState: 'carry' | 'reset' }


export interface TrainOptions {
  runDir: string;
  init: InitFromScratch | InitFromModel;
  data: TrainData;
  /** Fixed validation batches. */
  validation: readonly ExampleBatch[];
  /** Steps, optimizer, schedule, evaluation and checkpoint cadence, seed (src/training/settings.ts). */
  settings: TrainSettings;
  /** Copied into every checkpoint and the final model (e.g. {"tokenizer.json": path}). */
  extraFiles?: Record<string, string>;
  /**
   * Scores the model at every evaluation, higher is better (fine-tuning: the task's metric on its
   * validation examples); the score and its parts land in the evaluation record.
   */
  score?: (model: { config: T5Config; params: Params }) => Promise<ModelScore>;
  /** With `score`: keep the model of the best score so far in best/ (the first of equal scores). */
  keepBest?: boolean;
  /**
   * With `keepBest`: evaluations before this step may not be kept (fine-tuning: 1, so the kept
   * model was trained on the task, never the untouched starting model); 0 by default.
   */
  bestFrom?: number;
  onEvent?: (event: TrainEvent) => void;
  /** Measured every `track_replicas_every` steps on the parameters and their gradient, logged to metrics.jsonl. */
  probe?: StepProbe;
}

/**
 * A measurement of the model during training (e.g. of the replicas of a fused model, in
 * src/analysis): called with the parameters after `step` updates and their gradient, before the
 * update. It must not keep or dispose the tensors.
 */
export interface StepProbe {
  /** The record type in metrics.jsonl. */
  type: string;
  measure(step: number, params: Params, grads: Params): Record<string, unknown>;
}

export interface ModelScore {
  score: number;
  metrics: Record<string, number>;
}

/** The evaluation of the best score and the model directory kept for it. */
export interface BestModel {
  step: number;
  score: number;
  dir: string;
}

export type TrainEvent =
  | { type: 'start'; step: number; steps: number; resumedFrom: string | null; config: T5Config; parameters: number }
  | TrainRecord
  | EvalRecord
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; step: number; dir: string; cached: boolean };

export interface TrainResult {
  runDir: string;
  finalDir: string;
  step: number;
  evals: EvalRecord[];
  lastTrain: TrainRecord | null;
  /** The checkpoint the run continued from, if it resumed. */
  resumedFrom: string | null;
  /** The run dir already held the finished run; nothing was trained. */
  cached: boolean;
  /** With `keepBest`: the best evaluation's model. */
  best: BestModel | null;
}

/** The loss became NaN or infinite: the run stops before the update would spoil the parameters. */
export class TrainingDiverged extends UserError {
  constructor(readonly step: number, readonly value: number, readonly lastCheckpoint: string | null) {
    super(`step ${step}: the training loss or gradient is ${value} (training diverged). Last good checkpoint: ` +
      `${lastCheckpoint ?? 'none (no checkpoint was written yet)'}. Fix: start a new run from it (--from) with a lower ` +
      'learning rate or with gradient clipping, or checkpoint more often');
    this.name = 'TrainingDiverged';
  }
}

interface Session {
  config: T5Config;
  params: Params;
  optimizerState: OptimizerState;
  trainer: TrainerState | null;
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  if (o.validation.length === 0) {
    throw new ConfigError('(train options)', 'validation', 'no validation batches', 'pass at least one validation batch');
  }
  const s = o.settings;
  const noBf16 = s.precision === 'bf16' ? bf16Unavailable() : null;
  if (noBf16) {
    throw new UserError(`precision bf16 cannot run here: ${noBf16}. Fix: train with precision fp32, in a new run directory (a run keeps its precision)`);
  }
  const runDir = path.resolve(o.runDir);
  fs.mkdirSync(runDir, { recursive: true });
  const unlock = lockRun(runDir);
  try {
    removeLeftovers(runDir);
    const latest = latestCheckpoint(runDir);
    const identity = runIdentity(o, runDir);
    if (latest) checkResumeIdentity(runDir, identity);
    else writeRunIdentity(runDir, identity);
    if (latest && latest.step > s.steps) {
      throw new UserError(`${runDir}: this run has already trained ${latest.step} steps, more than the ${s.steps} asked for. ` +
        `Fix: ask for at least ${latest.step} steps, or train in another run directory`);
    }
    if (latest?.final && latest.step === s.steps) return finished(o, runDir, latest);
    const optimizer = makeOptimizer(s.optimizer);
    const session = latest ? resume(latest, optimizer) : begin(o.init, optimizer);
    try {
      return await run(o, runDir, optimizer, session, latest?.dir ?? null);
    } finally {
      disposeParams(session.params);
      disposeParams(session.optimizerState.tensors);
    }
  } finally {
    unlock();
  }
}

/**
 * What must be the same for a resumed run to continue the original one. The input model is named
 * relative to the run directory: a run directory that moves together with its input (a plan's
 * output directory renamed, a plan job resumed on another machine) still resumes.
 */
function runIdentity(o: TrainOptions, runDir: string): Record<string, unknown> {
  const init = 'from' in o.init ? { from: path.relative(runDir, path.resolve(o.init.from)), optimizer_state: o.init.optimizerState } : o.init;
  return { init, data: o.data.describe, ...Object.fromEntries(RESUME_IDENTITY.map((k) => [k, o.settings[k]])) };
}

// Runs from before the precision setting computed in fp32; a precision the machine cannot compute
// is not undone by repeating a flag.
const OLDER_RUNS = { precision: 'fp32' };
const RESUME_FIXES = {
  precision: 'resume with the same precision (bf16 needs the native backend on a CPU with AVX512-BF16), or train in another run directory',
};

/** checkRunIdentity, also accepting the absolute input path that runs started before saved. */
function checkResumeIdentity(runDir: string, identity: Record<string, unknown>): void {
  try {
    checkRunIdentity(runDir, identity, OLDER_RUNS, RESUME_FIXES);
  } catch (err) {
    const init = identity.init as { from?: unknown };
    if (!(err instanceof ConfigError) || typeof init.from !== 'string') throw err;
    try {
      checkRunIdentity(runDir, { ...identity, init: { ...init, from: path.resolve(runDir, init.from) } }, OLDER_RUNS, RESUME_FIXES);
    } catch {
      throw err;
    }
  }
}

function begin(init: InitFromScratch | InitFromModel, optimizer: Optimizer): Session {
  if (!('from' in init)) {
    const params = initParams(init.config, init.seed);
    return { config: init.config, params, optimizerState: optimizer.init(params), trainer: null };
  }
  const { config, params } = loadModel(init.from);
  if (init.optimizerState === 'reset') return { config, params, optimizerState: optimizer.init(params), trainer: null };
  if (!hasOptimizerState(init.from)) {
    disposeParams(params);
    throw new FileError(init.from, 'holds no optimizer state (optimizer.safetensors + optimizer.json) to carry',
      'start with fresh optimizer state (optimizer state "reset"), or use a checkpoint that has it');
  }
  try {
    return { config, params, optimizerState: loadOptimizerState(init.from, optimizer, params), trainer: null };
  } catch (err) {
    disposeParams(params);
    throw err;
  }
}

function resume(saved: SavedState, optimizer: Optimizer): Session {
  const trainer = readTrainerState(saved.dir);
  const { config, params } = loadModel(saved.dir);
  try {
    return { config, params, optimizerState: loadOptimizerState(saved.dir, optimizer, params), trainer };
  } catch (err) {
    disposeParams(params);
    throw err;
  }
}

async function run(o: TrainOptions, runDir: string, optimizer: Optimizer, s: Session, resumedFrom: string | null): Promise<TrainResult> {
  const emit = o.onEvent ?? (() => undefined);
  const t = o.settings;
  const extraFiles = o.extraFiles ?? {};
  const clock = (): number => performance.now() / 1000;
  const startedAt = clock();
  const elapsedBefore = s.trainer?.elapsed ?? 0;
  const elapsed = (): number => elapsedBefore + clock() - startedAt;
  const metrics = new MetricsLog(path.join(runDir, METRICS_FILE), s.trainer?.metrics_bytes ?? 0);
  const evals = [...(s.trainer?.evals ?? [])];
  const rate = t.dropout ?? s.config.dropout_rate;
  const stream = await o.data.open(s.trainer?.data_position);
  let step = s.trainer?.step ?? 0;
  let tokens = s.trainer?.tokens ?? 0;
  let lastTrain = s.trainer?.last_train ?? null;
  let lastCheckpoint = resumedFrom;

  const runEval = async (): Promise<void> => {
    const r = evaluate(s.config, s.params, o.validation);
    const scored = o.score ? await o.score({ config: s.config, params: s.params }) : undefined;
    const record: EvalRecord = {
      type: 'eval', step, val_loss: r.loss, val_accuracy: r.accuracy, val_tokens: r.tokens, tokens, elapsed: elapsed(),
      ...(scored ? { score: scored.score, metrics: scored.metrics } : {}),
    };
    // Written before the record, so a checkpoint that lists this evaluation never lacks its model.
    if (o.keepBest && scored && bestEval([...evals, record], o.bestFrom) === record) {
      await saveModel(path.join(runDir, BEST_DIR), { config: s.config, params: s.params }, extraFiles, (tmp) =>
        writeFileAtomic(path.join(tmp, BEST_FILE), `${JSON.stringify({ step, score: scored.score, metrics: scored.metrics }, null, 2)}\n`));
    }
    evals.push(record);
    metrics.append(record);
    emit(record);
  };
  const save = async (dir: string): Promise<void> => {
    const trainer: TrainerState = {
      step, tokens, elapsed: elapsed(), data_position: stream.position(),
      rng: { seed: t.seed, dropout: 'derived from (seed, step, micro-batch)' },
      schedule: t.schedule, lr_offset: t.lr_offset, metrics_bytes: metrics.size, evals, last_train: lastTrain,
    };
    await writeCheckpoint(dir, { model: { config: s.config, params: s.params }, optimizer, optimizerState: s.optimizerState,
      trainer, extraFiles });
  };

  emit({ type: 'start', step, steps: t.steps, resumedFrom, config: s.config, parameters: countParams(s.params) });
  if (!s.trainer) await runEval();
  while (step < t.steps) {
    const stepStart = clock();
    const micro = Array.from({ length: t.grad_accumulation }, () => stream.next());
    const next = step + 1;
    // Products in the run's precision; evaluation (below) stays float32, the same yardstick for every run.
    const { loss, grads } = withPrecision(t.precision,
      () => stepGradients(s.config, s.params, micro, { rate, seed: (i) => dropoutSeed(t.seed, next, i) }));
    let norm: number;
    try {
      norm = globalNorm(grads);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw new TrainingDiverged(next, Number.isFinite(loss) ? norm : loss, lastCheckpoint);
      // Logged before the update, so the record of step k measures the parameters after k updates (k = 0: as initialised).
      if (o.probe && t.track_replicas_every > 0 && step % t.track_replicas_every === 0) {
        metrics.append({ type: o.probe.type, step, ...o.probe.measure(step, s.params, grads) });
      }
      const lr = learningRate(t.schedule, next, t.lr_offset);
      const gradScale = clipScale(norm, t.clip_norm);
      ({ params: s.params, state: s.optimizerState } = optimizer.apply(s.params, grads, s.optimizerState, { lr, gradScale }));
      step = next;
      const stepTokens = micro.reduce((n, b) => n + batchTokens(b), 0);
      tokens += stepTokens;
      lastTrain = { type: 'train', step, loss, lr, grad_norm: norm, tokens, elapsed: elapsed(), tokens_per_s: stepTokens / (clock() - stepStart) };
      if (optimizer.name === 'sgd') lastTrain.implicit_reg = (lr * gradScale / 4) * norm * norm;
    } finally {
      disposeParams(grads);
    }
    metrics.append(lastTrain);
    emit(lastTrain);
    if (t.eval_every > 0 && step % t.eval_every === 0) await runEval();
    if (t.checkpoint_every > 0 && step % t.checkpoint_every === 0 && step < t.steps) {
      const dir = checkpointDir(runDir, step);
      await save(dir);
      lastCheckpoint = dir;
      pruneCheckpoints(runDir, t.keep_checkpoints);
      emit({ type: 'checkpoint', step, dir });
    }
  }
  if (evals.at(-1)?.step !== step) await runEval();
  const finalDir = path.join(runDir, FINAL_DIR);
  await save(finalDir);
  writeValLossPlot(runDir, evals);
  emit({ type: 'done', step, dir: finalDir, cached: false });
  return { runDir, finalDir, step, evals, lastTrain, resumedFrom, cached: false, best: bestModel(o, runDir, evals) };
}

/** The evaluation with the highest score at step `from` or later (the earliest of equal ones); null when none was scored. */
export function bestEval(evals: readonly EvalRecord[], from = 0): EvalRecord | null {
  let best: EvalRecord | null = null;
  for (const e of evals) {
    if (e.score === undefined || Number.isNaN(e.score) || e.step < from) continue;
    if (!best || e.score > (best.score as number)) best = e;
  }
  return best;
}

function bestModel(o: TrainOptions, runDir: string, evals: readonly EvalRecord[]): BestModel | null {
  const best = o.keepBest ? bestEval(evals, o.bestFrom) : null;
  return best ? { step: best.step, score: best.score as number, dir: path.join(runDir, BEST_DIR) } : null;
}

/** The run dir already holds this run, finished: report it without training. */
function finished(o: TrainOptions, runDir: string, saved: SavedState): TrainResult {
  const trainer = readTrainerState(saved.dir);
  if (!fs.existsSync(path.join(runDir, VAL_LOSS_PLOT))) writeValLossPlot(runDir, trainer.evals);
  o.onEvent?.({ type: 'done', step: trainer.step, dir: saved.dir, cached: true });
  return {
    runDir, finalDir: saved.dir, step: trainer.step, evals: trainer.evals, lastTrain: trainer.last_train, resumedFrom: null, cached: true,
    best: bestModel(o, runDir, trainer.evals),
  };
}

function writeValLossPlot(runDir: string, evals: readonly EvalRecord[]): void {
  const svg = lineChart({
    title: `validation loss — ${path.basename(runDir)}`, xLabel: 'step', yLabel: 'validation loss',
    series: [{ name: 'validation loss', points: evals.map((e) => [e.step, e.val_loss] as const) }],
  });
  writeFileAtomic(path.join(runDir, VAL_LOSS_PLOT), svg);
}

/** A 32-bit seed for one micro-batch's dropout masks, a pure function of its coordinates. */
function dropoutSeed(seed: number, step: number, micro: number): number {
  let h = 0x811c9dc5;
  for (const x of [seed, step, micro]) {
    h = Math.imul(h ^ (x | 0), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

