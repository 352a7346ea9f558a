// Fine-tuning a pre-trained model on labelled tasks, as T5 does it (text to text), on the same
// training loop as pre-training: each task is a run of its own from the same model (or, with
// `mixture`, one run over T5's multi-task mixture), evaluated on the task's validation examples
// every `eval_every` steps, the model of the best validation score kept, and that model scored
// once on the test examples. Every run is resumable, and a finished one is not trained again, so
// running the same suite twice only prints the results.
//
//   <run>/results.json     the suite: per-task test scores, majority baselines, the average
//   <run>/<task>/          one training run per task (run.json, metrics.jsonl, checkpoints/, best/,
//                          final/) and test.json, the best model's test scores
//   <run>/mixture/         with `mixture`: the one run, and test.json
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  lossBatches, mixtureQuotas, prepareTask, selectTasks, taskTrainData, tokenizeTask,
  type MetricName, type Metrics, type PreparedTask, type TokenizedTask,
} from '../data/tasks';
import { loadTokenizer, type T5Tokenizer } from '../data/tokenizer';
import { FileError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { loadModel, readConfig, readJsonFile, TOKENIZER_FILE } from '../io/checkpoint';
import type { T5Config } from '../model/config';
import { t5TrainingStepFlops } from '../model/flops';
import { disposeParams, type Params } from '../model/params';
import type { FinetuneSettings } from './finetune_settings';
import { train, type InitFromModel, type InitFromScratch, type ModelScore, type TrainEvent, type TrainResult } from './loop';
import { modelConfig, tokenizerForModel } from './pretrain';
import { scoreSet, type SetScore } from './task_scoring';

export const RESULTS_FILE = 'results.json';
export const TEST_FILE = 'test.json';
export const MIXTURE_RUN = 'mixture';

export interface FinetuneHooks {
  /** A line about preparation or a result (a task loaded, a test score). */
  onNote?: (line: string) => void;
  /** The training events of one run (a task's name, or "mixture"). */
  onEvent?: (run: string, event: TrainEvent) => void;
}

export interface TestScore extends SetScore {
  name: string;
}

export interface TaskResult {
  task: string;
  description: string;
  kind: 'classification' | 'regression';
  metrics: MetricName[];
  source: string;
  /** Why the task overlaps the default pre-training corpus (then it is left out of the average), or null. */
  contamination: string | null;
  examples: { train: number; validation: number; tests: number[] };
  /** Input tokens the task's batches have. */
  input_length: number;
  /** The best model's score on each test set, and their mean: the task's score. */
  tests: TestScore[];
  score: number;
  /** A constant prediction (the most frequent training label, or the mean value) on the same test sets. */
  majority: { score: number; tests: Array<{ name: string; metrics: Metrics; score: number }> };
  /** The evaluation whose model was kept: its step and validation score. */
  best: { step: number; validation_score: number };
  /** The run the task was learnt in. */
  run: string;
}

export interface SuiteResult {
  model: string;
  init: 'pretrained' | 'random';
  suite: string;
  mixture: boolean;
  decode: string;
  steps: number;
  tasks: TaskResult[];
  /** Mean score of the tasks that are not contaminated (NaN when every task is). */
  average: number;
  majority_average: number;
  /** Tasks left out of the average. */
  contaminated: string[];
  /** Training FLOPs of the fine-tuning runs (matmuls, forward and backward). */
  flops: number;
  /** Training time of the runs, summed (across resumes). */
  train_seconds: number;
}

/** Mean of the scores of the tasks that count (not contaminated). */
export function suiteAverage(tasks: ReadonlyArray<{ score: number; contamination: string | null }>, pick: (t: { score: number }) => number = (t) => t.score): number {
  const clean = tasks.filter((t) => t.contamination === null);
  return clean.length === 0 ? NaN : clean.reduce((s, t) => s + pick(t), 0) / clean.length;
}

/** The run directory `deepfusion finetune` uses when none is given. */
export function defaultFinetuneRun(model: string, suite: string, init: string): string {
  const name = path.basename(path.resolve(model)) === 'final' ? path.basename(path.dirname(path.resolve(model))) : path.basename(path.resolve(model));
  return path.join('runs', `finetune-${name}-${suite.replace(/[^\w.-]+/g, '_')}${init === 'random' ? '-random' : ''}`);
}

/** The model's own tokenizer; another one is refused (the same ids would mean other words). */
function openTokenizer(s: FinetuneSettings): { tokenizer: T5Tokenizer; file: string } {
  const file = s.tokenizer === undefined ? path.join(s.model, TOKENIZER_FILE) : tokenizerForModel(s.model, s.tokenizer);
  if (!s.tokenizer && !fs.existsSync(file)) {
    throw new FileError(s.model, `holds no ${TOKENIZER_FILE}`, 'give the tokenizer the model was trained with: --tokenizer <tokenizer.json>');
  }
  return { tokenizer: loadTokenizer(file), file: path.resolve(file) };
}

export async function finetune(s: FinetuneSettings, hooks: FinetuneHooks = {}): Promise<SuiteResult> {
  const note = hooks.onNote ?? (() => undefined);
  const { tokenizer, file: tokenizerFile } = openTokenizer(s);
  const { config } = modelConfig({ from: s.model, optimizer_state: 'reset' }, tokenizer);
  const { suite, tasks: chosen } = selectTasks(s.tasks, 'fine-tuning settings');
  const runDir = path.resolve(s.run ?? defaultFinetuneRun(s.model, suite, s.init));
  const tasks: Array<{ prepared: PreparedTask; tokenized: TokenizedTask }> = [];
  for (const task of chosen) {
    const prepared = prepareTask(task, s.tasks);
    const tokenized = await tokenizeTask(prepared, tokenizer, s.tasks.input_length);
    note(`task ${task.name}: ${prepared.train.length} training, ${prepared.validation.length} validation, ` +
      `${prepared.tests.map((t) => t.examples.length).join(' + ')} test examples of at most ${tokenized.inputLength} tokens · ` +
      `${task.metrics.join(' + ')} · majority baseline ${(100 * prepared.majority.score).toFixed(1)}` +
      `${task.contamination ? ' · contaminated: not in the average' : ''}`);
    tasks.push({ prepared, tokenized });
  }
  const init: InitFromScratch | InitFromModel = s.init === 'random' ? { config, seed: s.train.seed } : { from: path.resolve(s.model), optimizerState: 'reset' };
  const common = { s, init, tokenizer, tokenizerFile, hooks };
  const groups = s.mixture ? [{ name: MIXTURE_RUN, members: tasks }] : tasks.map((t) => ({ name: t.prepared.info.name, members: [t] }));
  const results: TaskResult[] = [];
  let flops = 0;
  let seconds = 0;
  for (const group of groups) {
    const out = await runGroup(path.join(runDir, group.name), group.name, group.members, common);
    results.push(...out.results);
    flops += out.flops;
    seconds += out.seconds;
  }
  const result: SuiteResult = {
    model: path.resolve(s.model), init: s.init, suite, mixture: s.mixture, decode: s.decode, steps: s.train.steps, tasks: results,
    average: suiteAverage(results), majority_average: suiteAverage(results, (t) => (t as TaskResult).majority.score),
    contaminated: results.filter((t) => t.contamination !== null).map((t) => t.task), flops, train_seconds: seconds,
  };
  writeFileAtomic(path.join(runDir, RESULTS_FILE), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

interface GroupContext {
  s: FinetuneSettings;
  init: InitFromScratch | InitFromModel;
  tokenizer: T5Tokenizer;
  tokenizerFile: string;
  hooks: FinetuneHooks;
}

/** One training run over one task (or the mixture of several), then the best model's test scores. */
async function runGroup(dir: string, name: string, members: Array<{ prepared: PreparedTask; tokenized: TokenizedTask }>,
  c: GroupContext): Promise<{ results: TaskResult[]; flops: number; seconds: number }> {
  const { s, tokenizer } = c;
  const tokenized = members.map((m) => m.tokenized);
  const quotas = mixtureQuotas(tokenized, s.mixture ? s.mixture_cap : undefined);
  const stream = taskTrainData({ tasks: tokenized, quotas, batchSize: s.train.batch_size, seed: s.train.seed, padId: tokenizer.padId });
  // How evaluations are scored decides which model is kept, so a resumed run must score the same way.
  const data = { ...stream, describe: { ...(stream.describe as object), decode: s.decode } };
  const predict = { batchSize: s.eval_batch_size, decode: s.decode, tokenizer };
  // The validation loss: a few teacher-forced batches of every member's validation examples.
  const perTask = Math.max(1, Math.floor(s.eval_batches / members.length));
  const validation = tokenized.flatMap((t) => lossBatches(t, t.validation, s.eval_batch_size, perTask, tokenizer.padId));
  const score = async (model: { config: T5Config; params: Params }): Promise<ModelScore> => {
    const metrics: Record<string, number> = {};
    let sum = 0;
    for (const t of tokenized) {
      const r = await scoreSet(model.config, model.params, t, t.validation, predict);
      for (const [m, v] of Object.entries(r.metrics)) metrics[members.length > 1 ? `${t.info.name}.${m}` : m] = v as number;
      sum += r.score;
    }
    // A mixture's checkpoint is the one best on average over its tasks.
    return { score: sum / tokenized.length, metrics };
  };
  const result: TrainResult = await train({
    runDir: dir, init: c.init, data, validation, settings: s.train, extraFiles: { [TOKENIZER_FILE]: c.tokenizerFile },
    // The model before the first step never competes: with a task it was not trained on, its
    // answers are noise (a lucky random model could otherwise be "kept" and reported).
    score, keepBest: true, bestFrom: Math.min(1, s.train.steps), onEvent: (e) => c.hooks.onEvent?.(name, e),
  });
  if (!result.best) throw new Error(`fine-tuning ${name}: no evaluation was scored`);
  const tests = await testScores(dir, result, tokenized, predict, c.hooks.onNote);
  const config = readConfig(result.finalDir);
  const stepFlops = t5TrainingStepFlops(config, {
    batch: s.train.batch_size * s.train.grad_accumulation,
    inputLength: Math.max(...tokenized.map((t) => t.inputLength)), targetLength: Math.max(...tokenized.map((t) => t.targetLength)),
  });
  const results = members.map(({ prepared, tokenized: t }, i): TaskResult => ({
    task: prepared.info.name, description: prepared.info.description, kind: prepared.info.kind, metrics: prepared.info.metrics,
    source: prepared.info.source, contamination: prepared.info.contamination,
    examples: { train: t.train.labels.length, validation: t.validation.labels.length, tests: t.tests.map((x) => x.labels.length) },
    input_length: t.inputLength,
    tests: tests[i], score: tests[i].reduce((a, x) => a + x.score, 0) / tests[i].length,
    majority: { score: prepared.majority.score, tests: prepared.majority.tests },
    best: { step: result.best!.step, validation_score: result.best!.score },
    run: dir,
  }));
  return { results, flops: result.step * stepFlops, seconds: result.lastTrain?.elapsed ?? 0 };
}

interface TestFile {
  /** What the scores were computed from: the kept model's step, the tasks' examples, the decoding. */
  identity: { best_step: number; tasks: string[]; decode: string };
  tests: TestScore[][];
}

/** The kept model's scores on each member's test sets, computed once (test.json) for a finished run. */
async function testScores(dir: string, result: TrainResult, tasks: readonly TokenizedTask[],
  predict: Parameters<typeof scoreSet>[4], note?: (line: string) => void): Promise<TestScore[][]> {
  const file = path.join(dir, TEST_FILE);
  const best = result.best!;
  const identity = { best_step: best.step, tasks: tasks.map((t) => t.key), decode: predict.decode };
  if (fs.existsSync(file)) {
    const saved = readJsonFile(file, 'the test scores') as TestFile;
    if (JSON.stringify(saved.identity) === JSON.stringify(identity)) return saved.tests;
  }
  if (!fs.existsSync(best.dir)) {
    throw new FileError(best.dir, 'is missing: the model of the best evaluation was kept there',
      `delete ${dir} and fine-tune again`);
  }
  const { config, params } = loadModel(best.dir);
  try {
    const tests: TestScore[][] = [];
    for (const t of tasks) {
      const scores: TestScore[] = [];
      for (const set of t.tests) scores.push({ name: set.name, ...(await scoreSet(config, params, t, set, predict)) });
      note?.(`${t.info.name}: test ${scores.map((x) => `${tasks.length > 1 || t.tests.length > 1 ? `${x.name} ` : ''}${(100 * x.score).toFixed(1)}`).join(', ')} ` +
        `(model of step ${best.step})`);
      tests.push(scores);
    }
    writeFileAtomic(file, `${JSON.stringify({ identity, tests } satisfies TestFile, null, 2)}\n`);
    return tests;
  } finally {
    disposeParams(params);
  }
}
