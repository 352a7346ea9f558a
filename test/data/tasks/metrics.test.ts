import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accuracy, f1, majorityBaseline, matthews, metricsScore, pearson, scorePredictions, spearman,
} from '../../../src/data/tasks';
import { ranks } from '../../../src/data/tasks/metrics';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} ≠ ${b}`);

describe('task metrics', () => {
  test('accuracy and F1 of the positive class on hand-counted cases', () => {
    close(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75, 'accuracy');
    // tp 2, fp 1, fn 1.
    close(f1([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]), 4 / 6, 'F1');
    // Class 0: tp 1, fp 2, fn 1.
    close(f1([1, 1, 0, 0, 1], [0, 1, 0, 1, 0], 0), 2 / 5, 'F1 of class 0');
    assert.equal(f1([1, 0], [0, 0]), 0, 'no true positive: 0');
  });

  test('Matthews correlation: binary by hand, multiclass against the correlation of one-hot labels, 0 for a constant', () => {
    // tp 2, tn 2, fp 1, fn 1: (4 − 1) / sqrt(3⁴).
    close(matthews([1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1]), 1 / 3, 'binary');
    // numpy: Σ_k cov(onehot(t)_k, onehot(p)_k) / sqrt(Σ var · Σ var) = 0.15625.
    close(matthews([0, 1, 2, 0, 1, 2, 2], [0, 2, 1, 0, 0, 1, 2]), 0.15625, 'three classes');
    assert.equal(matthews([0, 1, 1, 0], [1, 1, 1, 1]), 0, 'constant prediction');
    close(matthews([0, 1, 1, 0], [0, 1, 1, 0]), 1, 'perfect');
    close(matthews([0, 1, 1, 0], [1, 0, 0, 1]), -1, 'inverted');
  });

  test('Pearson and Spearman (ties share their average rank) match scipy', () => {
    // scipy.stats.pearsonr([1,2,3,4],[2,4,5,4]) and spearmanr([1,2,2,3],[1,3,2,4]).
    close(pearson([1, 2, 3, 4], [2, 4, 5, 4]), 0.7181848464596079, 'pearson');
    assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505139) < 1e-12);
    assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0, 'a constant has no correlation');
  });

  test('a task scores its own metrics; the score is their mean; the majority baseline predicts the most frequent training label', () => {
    const m = scorePredictions({ metrics: ['f1', 'accuracy'], positive: 1 }, [1, 0, 1, 1], [1, 0, 0, 1]);
    close(m.accuracy as number, 0.75, 'accuracy');
    close(m.f1 as number, 0.8, 'f1');
    close(metricsScore(m), 0.775, 'mean');
    const train = [0, 1, 1, 2].map((label, i) => ({ id: String(i), input: '', label }));
    const tests = [{ name: 'test', examples: [1, 1, 0].map((label, i) => ({ id: String(i), input: '', label })) }];
    const [base] = majorityBaseline({ kind: 'classification', metrics: ['accuracy'] }, train, tests);
    close(base.metrics.accuracy as number, 2 / 3, 'majority accuracy');
    const [reg] = majorityBaseline({ kind: 'regression', metrics: ['pearson', 'spearman'] }, train, tests);
    assert.deepEqual(reg.metrics, { pearson: 0, spearman: 0 }, 'a constant value correlates with nothing');
  });
});
