// GLUE's metrics, on plain arrays: accuracy, F1 of the positive class, Matthews correlation,
// Pearson and Spearman correlation. A task's score is the mean of its metrics, and a suite's the
// mean of its tasks' scores (how GLUE and T5 average). Degenerate cases that the formulas leave
// undefined (a constant prediction, no positive example) score 0, as scikit-learn does, so a
// majority-class baseline has a number.
import type { MetricName, TaskExample, TaskInfo, TestSet } from './types';

export function accuracy(gold: readonly number[], predicted: readonly number[]): number {
  if (gold.length === 0) return NaN;
  let right = 0;
  gold.forEach((g, i) => { if (predicted[i] === g) right++; });
  return right / gold.length;
}

/** F1 of the class `positive`. */
export function f1(gold: readonly number[], predicted: readonly number[], positive = 1): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  gold.forEach((g, i) => {
    const p = predicted[i] === positive;
    if (p && g === positive) tp++;
    else if (p) fp++;
    else if (g === positive) fn++;
  });
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Matthews correlation coefficient, multiclass form (the binary MCC for two classes). */
export function matthews(gold: readonly number[], predicted: readonly number[]): number {
  const classes = [...new Set([...gold, ...predicted])];
  const n = gold.length;
  const t = new Map<number, number>();
  const p = new Map<number, number>();
  let correct = 0;
  gold.forEach((g, i) => {
    t.set(g, (t.get(g) ?? 0) + 1);
    p.set(predicted[i], (p.get(predicted[i]) ?? 0) + 1);
    if (g === predicted[i]) correct++;
  });
  let tp = 0;
  let tt = 0;
  let pp = 0;
  for (const c of classes) {
    const tc = t.get(c) ?? 0;
    const pc = p.get(c) ?? 0;
    tp += tc * pc;
    tt += tc * tc;
    pp += pc * pc;
  }
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt));
  return denominator === 0 ? 0 : (correct * n - tp) / denominator;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties sharing their average rank. */
export function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(x.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k].i] = rank;
    start = end + 1;
  }
  return out;
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(ranks(x), ranks(y));
}

export type Metrics = Partial<Record<MetricName, number>>;

/** The task's metrics of predictions (class indices or values) against the gold labels. */
export function scorePredictions(task: Pick<TaskInfo, 'metrics' | 'positive'>, gold: readonly number[], predicted: readonly number[]): Metrics {
  const out: Metrics = {};
  for (const m of task.metrics) {
    out[m] = m === 'accuracy' ? accuracy(gold, predicted)
      : m === 'f1' ? f1(gold, predicted, task.positive ?? 1)
        : m === 'mcc' ? matthews(gold, predicted)
          : m === 'pearson' ? pearson(predicted, gold)
            : spearman(predicted, gold);
  }
  return out;
}

/** The mean of a task's metrics. */
export function metricsScore(m: Metrics): number {
  const values = Object.values(m) as number[];
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** What a model that ignores its input predicts: the most frequent training label, or the mean value. */
export function majorityPrediction(task: Pick<TaskInfo, 'kind'>, train: readonly TaskExample[]): number {
  if (task.kind === 'regression') return train.reduce((s, e) => s + e.label, 0) / Math.max(1, train.length);
  const counts = new Map<number, number>();
  for (const e of train) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  // Ties go to the lower label, so the baseline does not depend on example order.
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
}

/** The majority baseline's metrics on each test set. */
export function majorityBaseline(task: Pick<TaskInfo, 'kind' | 'metrics' | 'positive'>, train: readonly TaskExample[],
  tests: readonly TestSet[]): Array<{ name: string; metrics: Metrics }> {
  const guess = majorityPrediction(task, train);
  return tests.map((t) => ({ name: t.name, metrics: scorePredictions(task, t.examples.map((e) => e.label), t.examples.map(() => guess)) }));
}
