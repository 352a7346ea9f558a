import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultKernel, kernelWindow, spreadSteps } from '../../src/analysis/heatmaps';
import { planFuse } from '../../src/fusion/fuse';
import { makeConfig } from '../../src/model/config';

test('a kernel window shows the first entries of each source\'s block side by side, as [in, out]', () => {
  const a = makeConfig({ vocab_size: 30, d_model: 6, d_kv: 2, d_ff: 5, num_layers: 1, num_heads: 1 });
  const b = makeConfig({ ...a, d_model: 4, d_ff: 3 });
  const plan = planFuse([a, b]);
  const name = defaultKernel(plan.config);
  assert.equal(name, 'encoder.block.0.layer.1.DenseReluDense.wi_0.weight');
  const t = plan.tensors.find((x) => x.name === name)!;
  // The fused [d_ff = 8, d_model = 10] weight, entry (o, i) = 100·o + i.
  const data = Float64Array.from({ length: 80 }, (_, k) => 100 * Math.floor(k / 10) + (k % 10));
  const w = kernelWindow(t, data, 2);
  assert.deepEqual([w.rows, w.cols, w.rowBreaks, w.colBreaks], [4, 4, [2], [2]]);
  // Rows: inputs 0, 1 (source 1) and 6, 7 (source 2); columns: hidden units 0, 1 and 5, 6.
  assert.deepEqual([...w.values], [0, 100, 500, 600, 1, 101, 501, 601, 6, 106, 506, 606, 7, 107, 507, 607]);
});

test('checkpoints spread over a run: first, last and evenly between', () => {
  assert.deepEqual(spreadSteps([0, 50, 100, 150, 200, 250, 300, 350, 400], 5), [0, 100, 200, 300, 400]);
  assert.deepEqual(spreadSteps([0, 50], 5), [0, 50]);
});
