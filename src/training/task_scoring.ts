// Scoring a model on a text-to-text task, as T5 scores one. `rank` (the default): every candidate
// answer (each label's name, or each value of a regression grid) is scored by its log-likelihood
// given the input, and the most likely one is the prediction, so the model always answers
// something the task can score. `greedy`: the model writes its answer token by token, and an
// answer that names no label (or no number) counts as wrong.
import { scoped } from '../engine/scope';
import { tf } from '../engine/tf';
import type { T5Config } from '../model/config';
import { generate } from '../model/generate';
import type { Params } from '../model/params';
import { decode, encode } from '../model/t5';
import { metricsScore, scorePredictions, type Metrics, type TokenizedSet, type TokenizedTask } from '../data/tasks';
import type { T5Tokenizer } from '../data/tokenizer';

export type DecodeMode = 'rank' | 'greedy';
export const DECODE_MODES: readonly DecodeMode[] = ['rank', 'greedy'];

export interface PredictOptions {
  /** Rows per forward pass; the last batch is filled up to it, so every pass has the same shape. */
  batchSize: number;
  decode: DecodeMode;
  tokenizer: T5Tokenizer;
}

export interface Predictions {
  /** A class index or value per example (−1: greedy named no label). */
  predictions: number[];
  /** Greedy answers that named no label or number. */
  invalid: number;
}

/** Input rows → int32 ids and a float mask of the task's input length. */
function inputTensors(rows: readonly number[][], length: number, padId: number) {
  const ids = new Int32Array(rows.length * length).fill(padId);
  const mask = new Float32Array(rows.length * length);
  rows.forEach((r, b) => {
    ids.set(r, b * length);
    mask.fill(1, b * length, b * length + r.length);
  });
  return { ids: tf.tensor2d(ids, [rows.length, length], 'int32'), mask: tf.tensor2d(mask, [rows.length, length], 'float32') };
}

/**
 * log p(candidate | row) for every row and candidate, `[rows][candidates]`: the encoder runs once,
 * the decoder once per candidate (teacher-forced), and the target tokens' log-probabilities add up.
 */
export function candidateLogLikelihoods(config: T5Config, params: Params, rows: readonly number[][], inputLength: number,
  candidates: readonly number[][]): number[][] {
  return scoped(() => {
    const b = rows.length;
    const { ids, mask } = inputTensors(rows, inputLength, config.pad_token_id);
    const encoderHidden = encode(config, params, ids, mask);
    const out = rows.map(() => new Array<number>(candidates.length).fill(0));
    candidates.forEach((target, c) => {
      const t = target.length;
      const scores = tf.tidy(() => {
        const start = [config.decoder_start_token_id, ...target.slice(0, -1)];
        const decoderIds = tf.tensor2d(Int32Array.from({ length: b * t }, (_, k) => start[k % t]), [b, t], 'int32');
        const logits = decode(config, params, decoderIds, encoderHidden, mask);
        const vocab = logits.shape[2] as number;
        const logProbs = tf.logSoftmax(logits.reshape([b * t, vocab])).reshape([-1]);
        // The log-probability of each target token, row by row.
        return tf.gather(logProbs, tf.tensor1d(Int32Array.from({ length: b * t }, (_, k) => k * vocab + target[k % t]), 'int32'));
      }).dataSync();
      for (let r = 0; r < b; r++) {
        let sum = 0;
        for (let k = 0; k < t; k++) sum += scores[r * t + k];
        out[r][c] = sum;
      }
    });
    return out;
  });
}

/** The index of the most likely candidate for each row (ties: the first). */
export function rankCandidates(config: T5Config, params: Params, rows: readonly number[][], inputLength: number,
  candidates: readonly number[][]): number[] {
  return candidateLogLikelihoods(config, params, rows, inputLength, candidates)
    .map((scores) => scores.reduce((best, x, c) => (x > scores[best] ? c : best), 0));
}

/** Predictions of the model on one set of a task. */
export async function predictSet(config: T5Config, params: Params, task: TokenizedTask, set: TokenizedSet,
  o: PredictOptions): Promise<Predictions> {
  const n = set.inputs.length;
  const predictions: number[] = [];
  let invalid = 0;
  for (let start = 0; start < n; start += o.batchSize) {
    const real = Math.min(o.batchSize, n - start);
    const rows = Array.from({ length: o.batchSize }, (_, i) => set.inputs[start + (i < real ? i : 0)]);
    if (o.decode === 'rank') {
      const choice = rankCandidates(config, params, rows, task.inputLength, task.candidates);
      for (let i = 0; i < real; i++) predictions.push(task.candidateValues[choice[i]]);
      continue;
    }
    const padded = rows.map((r) => [...r, ...new Array<number>(task.inputLength - r.length).fill(config.pad_token_id)]);
    const masks = rows.map((r) => Array.from({ length: task.inputLength }, (_, k) => (k < r.length ? 1 : 0)));
    const answers = generate(config, params, padded, { maxLength: task.targetLength }, masks);
    for (let i = 0; i < real; i++) {
      const p = await answerValue(task, answers[i], o.tokenizer);
      if (p === null) invalid++;
      predictions.push(p ?? invalidAnswer(task));
    }
  }
  return { predictions, invalid };
}

/** What a generated answer stands for: the candidate it spells, or for regression the number it writes. */
async function answerValue(task: TokenizedTask, answer: readonly number[], tokenizer: T5Tokenizer): Promise<number | null> {
  const ids = answer.at(-1) === tokenizer.eosId ? answer.slice(0, -1) : answer;
  const exact = task.candidates.findIndex((c) => c.length === ids.length + 1 && ids.every((id, k) => c[k] === id));
  if (exact >= 0) return task.candidateValues[exact];
  if (task.info.kind !== 'regression') return null;
  const text = (await tokenizer.decode(ids)).trim();
  const value = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  return Number.isFinite(value) ? value : null;
}

/** A wrong answer: no class for classification, the middle of the scale for regression. */
function invalidAnswer(task: TokenizedTask): number {
  if (task.info.kind !== 'regression') return -1;
  const g = task.info.grid as { min: number; max: number };
  return (g.min + g.max) / 2;
}

export interface SetScore {
  metrics: Metrics;
  /** The mean of the metrics. */
  score: number;
  examples: number;
  invalid: number;
}

/** The task's metrics of the model on one of its sets. */
export async function scoreSet(config: T5Config, params: Params, task: TokenizedTask, set: TokenizedSet, o: PredictOptions): Promise<SetScore> {
  const { predictions, invalid } = await predictSet(config, params, task, set, o);
  const metrics = scorePredictions(task.info, set.labels, predictions);
  return { metrics, score: metricsScore(metrics), examples: set.labels.length, invalid };
}
