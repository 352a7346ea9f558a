// Text-to-text examples as token ids and batches (the ExampleBatch contract of src/data/types.ts):
// the input with its task prefix, cut to the input length and ended with EOS; the target, a
// label's name or a value written as text, ended with EOS. The training stream mixes tasks as T5
// does ("examples-proportional mixing"): each task contributes its quota of examples to every
// mixture epoch (its size, or a cap), in an order shuffled by (seed, epoch), so the stream's
// position is one number and a resumed run reads the same examples as an uninterrupted one.
import { ConfigError, UserError } from '../../errors';
import { sha256Hex } from '../../util/hash';
import { Rng } from '../../util/rng';
import { buildBatch } from '../batch';
import type { T5Tokenizer } from '../tokenizer';
import type { BatchStream, DataPosition, ExampleBatch, TrainData } from '../types';
import type { PreparedTask } from './prepare';
import type { TaskExample, TaskInfo, ValueGrid } from './types';

export interface TokenizedSet {
  /** Input ids, EOS-terminated, at most the task's input length. */
  inputs: number[][];
  /** Target ids (the gold label's text), EOS-terminated. */
  targets: number[][];
  /** Gold labels: class indices or values. */
  labels: number[];
}

export interface TokenizedTask {
  info: TaskInfo;
  /** The examples, the tokenizer and the lengths: part of a run's identity. */
  key: string;
  /** Tokens every input of the task is padded to: the setting, or less when no input needs it. */
  inputLength: number;
  /** Tokens every target (and every candidate) is padded to. */
  targetLength: number;
  train: TokenizedSet;
  validation: TokenizedSet;
  tests: Array<TokenizedSet & { name: string }>;
  /** What the model may answer: each label's (or grid value's) target ids, EOS-terminated. */
  candidates: number[][];
  /** The class index or value each candidate stands for. */
  candidateValues: number[];
  /** The texts of the candidates. */
  candidateTexts: string[];
}

/** Inputs are cut to this many characters per input token before tokenizing (a review of 10k characters need not be tokenized whole). */
const CHARS_PER_TOKEN_BOUND = 12;

/** A value on the grid, written as the target text ("3.8"). */
export function valueText(value: number, grid: ValueGrid): string {
  const snapped = Math.min(grid.max, Math.max(grid.min, Math.round(value / grid.step) * grid.step));
  return snapped.toFixed(grid.decimals);
}

/** Every value of the grid, from min to max. */
export function gridValues(grid: ValueGrid): number[] {
  const n = Math.round((grid.max - grid.min) / grid.step);
  return Array.from({ length: n + 1 }, (_, i) => Number((grid.min + i * grid.step).toFixed(grid.decimals)));
}

/** The target text of a label: the label's name, or the value as text. */
export function targetText(info: Pick<TaskInfo, 'kind' | 'labels' | 'grid'>, label: number): string {
  return info.kind === 'regression' ? valueText(label, info.grid as ValueGrid) : info.labels[label];
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export async function tokenizeTask(task: PreparedTask, tokenizer: T5Tokenizer, maxInputLength: number): Promise<TokenizedTask> {
  const { info } = task;
  const candidateValues = info.kind === 'regression' ? gridValues(info.grid as ValueGrid) : info.labels.map((_, i) => i);
  const candidateTexts = candidateValues.map((v) => targetText(info, v));
  const candidates = (await tokenizer.encodeBatch(candidateTexts)).map((ids) => [...ids, tokenizer.eosId]);
  // Two answers the tokenizer writes alike (characters it does not know) could never be told apart.
  const seen = new Map<string, string>();
  candidateTexts.forEach((text, i) => {
    const other = seen.get(candidates[i].join(','));
    if (other !== undefined) {
      throw new UserError(`task ${info.name}: the tokenizer writes the answers "${other}" and "${text}" as the same tokens ` +
        '(it lacks some of their characters). Fix: fine-tune a model whose tokenizer covers the task\'s labels and digits');
    }
    seen.set(candidates[i].join(','), text);
  });
  const encodeInputs = async (examples: TaskExample[]): Promise<number[][]> =>
    (await tokenizer.encodeBatch(examples.map((e) => e.input.slice(0, maxInputLength * CHARS_PER_TOKEN_BOUND))))
      .map((ids) => [...ids.slice(0, maxInputLength - 1), tokenizer.eosId]);
  const targetIds = new Map(candidateTexts.map((t, i) => [t, candidates[i]]));
  const set = async (examples: TaskExample[]): Promise<TokenizedSet> => ({
    inputs: await encodeInputs(examples),
    targets: examples.map((e) => targetIds.get(targetText(info, e.label)) as number[]),
    labels: examples.map((e) => e.label),
  });
  const train = await set(task.train);
  const validation = await set(task.validation);
  const tests = await Promise.all(task.tests.map(async (t) => ({ name: t.name, ...(await set(t.examples)) })));
  const longest = Math.max(...[train, validation, ...tests].flatMap((s) => s.inputs.map((x) => x.length)));
  // Multiples of 8 keep the kernels' shapes regular; never more than the setting.
  const inputLength = Math.min(maxInputLength, roundUp(longest, 8));
  const targetLength = Math.max(...candidates.map((c) => c.length));
  return {
    info, key: sha256Hex('tokenized-task', task.key, tokenizer.fingerprint, String(maxInputLength)),
    inputLength, targetLength, train, validation, tests, candidates, candidateValues, candidateTexts,
  };
}

/** Rows of a set as one batch of the given shape. */
export function setBatch(set: Pick<TokenizedSet, 'inputs' | 'targets'>, rows: readonly number[], inputLength: number,
  targetLength: number, padId: number): ExampleBatch {
  return buildBatch(rows.map((r) => ({ inputs: set.inputs[r], targets: set.targets[r] })), inputLength, targetLength, padId);
}

/** Teacher-forced batches of a set (for the validation loss), the last one filled up with the first rows. */
export function lossBatches(task: TokenizedTask, set: TokenizedSet, batchSize: number, maxBatches: number, padId: number): ExampleBatch[] {
  const n = set.inputs.length;
  const count = Math.min(maxBatches, Math.ceil(n / batchSize));
  return Array.from({ length: count }, (_, b) => setBatch(set, Array.from({ length: batchSize }, (_, i) => (b * batchSize + i) % n),
    task.inputLength, task.targetLength, padId));
}

/** Stream numbers of the generators: a task's order within its own epochs, and the mixture's order. */
const TASK_ORDER = 11;
const MIXTURE_ORDER = 12;

export interface TaskStreamOptions {
  tasks: readonly TokenizedTask[];
  /** Examples of each task per mixture epoch (T5's examples-proportional mixing: min(size, cap)). */
  quotas: readonly number[];
  batchSize: number;
  seed: number;
  padId: number;
}

/** Examples-proportional quotas: each task's training size, capped at `cap` (no cap: its size). */
export function mixtureQuotas(tasks: readonly TokenizedTask[], cap?: number): number[] {
  return tasks.map((t) => Math.max(1, Math.min(t.train.inputs.length, cap ?? Infinity)));
}

/** The fine-tuning data of one or more tasks as the training loop reads it. */
export function taskTrainData(o: TaskStreamOptions): TrainData {
  const dataKey = sha256Hex('task-stream', ...o.tasks.map((t) => t.key), o.quotas.join(','));
  return {
    open: (position) => openTaskStream(o, dataKey, position),
    describe: {
      tasks: o.tasks.map((t) => ({ name: t.info.name, key: t.key })), quotas: o.quotas, batch_size: o.batchSize, seed: o.seed,
    },
  };
}

function readExamples(position: DataPosition, dataKey: string, seed: number): number {
  const fix = 'resume with the tasks, caps, tokenizer and seed the run started with, or fine-tune in a new run directory';
  if (position.data !== dataKey) throw new ConfigError('data position', 'data', 'was saved for other tasks, caps or tokenizer', fix);
  if (position.seed !== seed) throw new ConfigError('data position', 'seed', `is ${String(position.seed)}, but this stream's seed is ${seed}`, fix);
  const k = position.examples;
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 0) throw new ConfigError('data position', 'examples', `must be a whole number ≥ 0, got ${JSON.stringify(k)}`, fix);
  return k;
}

function openTaskStream(o: TaskStreamOptions, dataKey: string, position?: DataPosition): BatchStream {
  if (o.tasks.length === 0 || o.tasks.length !== o.quotas.length) throw new Error('task stream: one quota per task, at least one task');
  const sizes = o.tasks.map((t) => t.train.inputs.length);
  const epochSize = o.quotas.reduce((a, b) => a + b, 0);
  const inputLength = Math.max(...o.tasks.map((t) => t.inputLength));
  const targetLength = Math.max(...o.tasks.map((t) => t.targetLength));
  let examples = position ? readExamples(position, dataKey, o.seed) : 0;

  // Task i's j-th draw overall is example perm(i, ⌊j / size⌋)[j mod size]: each task cycles through its own shuffled epochs.
  const orders = new Map<string, Int32Array>();
  const taskOrder = (i: number, epoch: number): Int32Array => {
    const key = `${i}/${epoch}`;
    let order = orders.get(key);
    if (!order) {
      if (orders.size > 4 * o.tasks.length) orders.clear();
      order = Rng.fromSeed(o.seed, TASK_ORDER, i, epoch).shuffle(Int32Array.from({ length: sizes[i] }, (_, k) => k));
      orders.set(key, order);
    }
    return order;
  };
  let mixture: { epoch: number; task: Int32Array; draw: Float64Array } | undefined;
  const mixtureEpoch = (epoch: number) => {
    if (mixture?.epoch !== epoch) {
      const task = new Int32Array(epochSize);
      const draw = new Float64Array(epochSize);
      let at = 0;
      o.quotas.forEach((q, i) => {
        for (let r = 0; r < q; r++, at++) {
          task[at] = i;
          draw[at] = epoch * q + r;
        }
      });
      const order = Rng.fromSeed(o.seed, MIXTURE_ORDER, epoch).shuffle(Int32Array.from({ length: epochSize }, (_, k) => k));
      mixture = { epoch, task: order.map((k) => task[k]), draw: Float64Array.from(order, (k) => draw[k]) };
    }
    return mixture;
  };
  const example = (k: number): { inputs: number[]; targets: number[] } => {
    const m = mixtureEpoch(Math.floor(k / epochSize));
    const r = k % epochSize;
    const i = m.task[r];
    const j = m.draw[r];
    const row = taskOrder(i, Math.floor(j / sizes[i]))[j % sizes[i]];
    return { inputs: o.tasks[i].train.inputs[row], targets: o.tasks[i].train.targets[row] };
  };
  return {
    next(): ExampleBatch {
      const batch = buildBatch(Array.from({ length: o.batchSize }, (_, b) => example(examples + b)), inputLength, targetLength, o.padId);
      examples += o.batchSize;
      return batch;
    },
    position: () => ({ data: dataKey, seed: o.seed, examples, epoch: Math.floor(examples / epochSize) }),
  };
}
