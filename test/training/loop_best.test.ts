// The training loop's scorer hook: every evaluation carries the score, and the model of the best
// one is kept in best/ (fine-tuning keeps its best validation checkpoint this way).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { readSafetensors } from '../../src/io/safetensors';
import { readMetrics } from '../../src/training/metrics';
import { bestEval, train } from '../../src/training/loop';
import { temporaryDir } from '../helpers/tmp';
import { tinyRun } from './helpers/tiny_run';

const weights = (dir: string) => new Map([...readSafetensors(path.join(dir, 'model.safetensors'))].map(([k, v]) => [k, Array.from(v.data)]));

describe('training loop: scores and the best model', () => {
  before(async () => { await initEngine('cpu'); });

  test('each evaluation carries its score; best/ holds the model of the highest one, also after the run is found finished', async () => {
    const runDir = path.join(temporaryDir(), 'run');
    // Scores by evaluation: steps 0, 2, 4, 6 → the best is step 4.
    const byCall = [0.1, 0.4, 0.7, 0.5];
    let calls = 0;
    const score = async () => {
      const s = byCall[calls++];
      return { score: s, metrics: { accuracy: s } };
    };
    const r = await train(tinyRun(runDir, { steps: 6, eval_every: 2, checkpoint_every: 2, keep_checkpoints: 10, score, keepBest: true }));
    assert.deepEqual(r.evals.map((e) => [e.step, e.score]), [[0, 0.1], [2, 0.4], [4, 0.7], [6, 0.5]]);
    assert.deepEqual(r.best, { step: 4, score: 0.7, dir: path.join(runDir, 'best') });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'best', 'best.json'), 'utf8')), { step: 4, score: 0.7, metrics: { accuracy: 0.7 } });
    assert.deepEqual(weights(path.join(runDir, 'best')), weights(path.join(runDir, 'checkpoints', 'step-00000004')), 'the model of step 4');
    assert.notDeepEqual(weights(path.join(runDir, 'best')), weights(path.join(runDir, 'final')));
    assert.ok(fs.existsSync(path.join(runDir, 'best', 'config.json')));
    assert.deepEqual(readMetrics(path.join(runDir, 'metrics.jsonl')).eval.map((e) => e.metrics?.accuracy), byCall);

    const again = await train(tinyRun(runDir, { steps: 6, eval_every: 2, checkpoint_every: 2, keep_checkpoints: 10, score, keepBest: true }));
    assert.equal(again.cached, true);
    assert.deepEqual(again.best, r.best);
    assert.equal(calls, 4, 'a finished run is not scored again');
  });

  test('the best evaluation is the earliest of the highest scores; unscored or NaN evaluations never are', () => {
    const e = (step: number, score?: number) => ({ type: 'eval' as const, step, val_loss: 1, val_accuracy: 0, val_tokens: 1, tokens: 0, elapsed: 0, score });
    assert.equal(bestEval([e(0, 0.5), e(1, 0.7), e(2, 0.7), e(3, NaN)])?.step, 1);
    assert.equal(bestEval([e(0), e(1)]), null);
    assert.equal(bestEval([e(0, NaN), e(1, 0.2)])?.step, 1);
    assert.equal(bestEval([e(0, 0.9), e(1, 0.2), e(2, 0.3)], 1)?.step, 2, 'evaluations before `from` never win');
    assert.equal(bestEval([e(0, 0.9)], 1), null);
  });

  test('with bestFrom, the model before the first step is never kept, however well it scores', async () => {
    const runDir = path.join(temporaryDir(), 'run');
    const byCall = [0.9, 0.2, 0.4];
    let calls = 0;
    const score = async () => ({ score: byCall[calls], metrics: { accuracy: byCall[calls++] } });
    const r = await train(tinyRun(runDir, { steps: 4, eval_every: 2, checkpoint_every: 2, keep_checkpoints: 10, score, keepBest: true, bestFrom: 1 }));
    assert.deepEqual(r.evals.map((e) => [e.step, e.score]), [[0, 0.9], [2, 0.2], [4, 0.4]]);
    assert.deepEqual(r.best, { step: 4, score: 0.4, dir: path.join(runDir, 'best') });
    assert.deepEqual(weights(path.join(runDir, 'best')), weights(path.join(runDir, 'final')));
  });
});
