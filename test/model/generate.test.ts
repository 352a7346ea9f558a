import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { caseToBatch } from '../../src/model/case';
import { makeConfig } from '../../src/model/config';
import { generate } from '../../src/model/generate';
import { disposeParams, initParams } from '../../src/model/params';
import { lossAndGrads, shiftRight } from '../../src/model/t5';
import { defaultOptimizerSpec, makeOptimizer } from '../../src/training/optimizers/spec';
import { Rng } from '../../src/util/rng';

before(async () => { await initEngine(); });

test('generate reproduces the input of a tiny T5 trained to copy, and stops at EOS or maxLength', () => {
  const config = makeConfig({ vocab_size: 16, d_model: 32, d_kv: 8, num_heads: 4, d_ff: 64, num_layers: 2 });
  const rng = Rng.fromSeed(1);
  // Four tokens from [3, 16) and EOS (1): the model must copy them and stop.
  const rows = (n: number) => Array.from({ length: n }, () => [...Array.from({ length: 4 }, () => 3 + rng.integer(13)), 1]);
  const optimizer = makeOptimizer(defaultOptimizerSpec('adamw'));
  let params = initParams(config, 7);
  let state = optimizer.init(params);
  // Train until the task is learnt with a wide margin, not for a fixed number of steps: every
  // backend and GEMM rounds differently, and how soon a model gets every token right is not
  // the same to the last step (OpenBLAS got there after about 560 steps, the portable GEMM 610).
  // A loss below 0.002 on 50 batches in a row means each target token's probability is ≥ 0.99.
  const recent: number[] = [];
  let step = 0;
  for (; step < 3000 && !(recent.length === 50 && Math.max(...recent) < 0.002); step++) {
    const ids = rows(32);
    const batch = caseToBatch({ input_ids: ids, attention_mask: ids.map((r) => r.map(() => 1)), labels: ids, decoder_input_ids: shiftRight(ids, config) });
    const { loss, grads } = lossAndGrads(config, params, batch);
    recent.push(loss.dataSync()[0]);
    if (recent.length > 50) recent.shift();
    ({ params, state } = optimizer.apply(params, grads, state, { lr: step < 400 ? 0.01 : 0.001 }));
    tf.dispose([loss, ...Object.values(grads), ...Object.values(batch).filter((t) => t !== undefined)]);
  }
  assert.ok(Math.max(...recent) < 0.002, `the copy task is learnt within ${step} steps (last losses up to ${Math.max(...recent)})`);
  const probe = rows(8);
  assert.deepEqual(generate(config, params, probe, { maxLength: 10 }), probe, 'greedy decoding copies the input, ending with EOS');
  assert.deepEqual(generate(config, params, probe.slice(0, 2), { maxLength: 3 }), probe.slice(0, 2).map((r) => r.slice(0, 3)),
    'stops at maxLength');
  disposeParams(params);
  tf.dispose(Object.values(state.tensors));
});
