import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstReach, meanStd, summarizeArms } from '../../src/plans/arm_results';
import type { JobInstance } from '../../src/plans/graph';
import type { JobResult } from '../../src/plans/job';

test('mean and sample standard deviation', () => {
  assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
});

test('first reach interpolates between evaluations', () => {
  const curve = [{ x: 0, loss: 4 }, { x: 10, loss: 3 }, { x: 20, loss: 2 }];
  assert.equal(firstReach(curve, 2.5), 15);
  assert.equal(firstReach(curve, 5), 0);
  assert.equal(firstReach(curve, 1), undefined);
});

test('first reach does not interpolate across jobs: the compute between them went elsewhere', () => {
  const curve = [{ x: 0, loss: 4, job: 'small' }, { x: 10, loss: 3, job: 'small' }, { x: 30, loss: 2, job: 'fused' }];
  assert.equal(firstReach(curve, 2.5), 30);
  assert.equal(firstReach(curve, 3.5), 5);
});

test('arm curves add the cost of the arm\'s earlier jobs; the baseline target is its mean final loss', () => {
  const job = (id: string, inputs: string[] = []): JobInstance => ({ id, node: id, kind: 'train', settings: {}, inputs, repeat: 0, key: id });
  const res = (flops: number, seconds: number, losses: number[]): JobResult => ({
    kind: 'train', flops, seconds, steps: losses.length * 10, peak_rss_mb: 100, facts: {},
    evals: losses.map((l, i) => ({ step: (i + 1) * 10, tokens: 0, flops: (flops * (i + 1)) / losses.length, seconds: (seconds * (i + 1)) / losses.length, val_loss: l, val_accuracy: 1 / l })),
  });
  const jobs = [job('a'), job('b'), job('ab', ['a', 'b']), job('big')];
  const results = new Map<string, JobResult>([
    ['a', res(100, 10, [5, 4])], ['b', res(100, 20, [5, 4])], ['ab', res(200, 30, [3.5, 2.5])], ['big', res(600, 60, [4, 3])],
  ]);
  const [fused, base] = summarizeArms([
    { name: 'fused', arm: 'fused', finals: ['ab'], members: [['ab', 'a', 'b']] },
    { name: 'base', arm: 'base', finals: ['big'], members: [['big']] },
  ], jobs, results, 'base');
  assert.deepEqual(fused.curves[0].map((p) => [p.job, p.flops, p.seconds]), [
    ['a', 50, 5], ['a', 100, 10], ['ab', 300, 35], ['ab', 400, 50],
  ]);
  assert.equal(fused.flops.mean, 400);
  assert.equal(fused.criticalSeconds.mean, 50);
  assert.equal(fused.machineSeconds.mean, 60);
  assert.equal(base.finalLoss.mean, 3);
  // Loss 3 is first reached between (300, 3.5) and (400, 2.5): at 350 FLOPs.
  assert.deepEqual(fused.flopsToBaseline, { reached: [350], repeats: 1 });
  assert.deepEqual(base.flopsToBaseline, { reached: [600], repeats: 1 });
});
