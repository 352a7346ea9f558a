import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { makeConfig } from '../../src/model/config';
import { matmulFlops, t5ForwardFlops } from '../../src/model/flops';
import { benchmarkTraining, syntheticBatch, type BenchOptimizer } from '../../src/training/benchmark';

const config = makeConfig({ vocab_size: 64, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 2, num_heads: 4 });
const shape = { batch: 2, inputLength: 8, targetLength: 5 };

function run(optimizer: BenchOptimizer) {
  return benchmarkTraining({
    config, shape, steps: 3, warmup: 1, seed: 3,
    optimizer: { name: optimizer, learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  });
}

describe('training benchmark', () => {
  for (const backend of ['cpu', 'native']) {
    for (const optimizer of ['adam', 'adafactor', 'tf-adam', 'sgd'] as const) {
      test(`${optimizer} on ${backend}: no tensor or byte leaks from step to step, loss goes down`, async () => {
        await initEngine(backend);
        const before = tf.memory().numTensors;
        const result = run(optimizer);
        assert.ok(result.memoryStable, `tensors per step: ${result.records.map((r) => `${r.tensors}/${r.bytes}`).join(' ')}`);
        assert.equal(tf.memory().numTensors, before, 'tensors left after the benchmark');
        const losses = result.records.map((r) => r.loss);
        assert.ok(losses[losses.length - 1] < losses[0], `loss did not go down: ${losses}`);
      });
    }
  }

  test('the fused Adam and tf.train.adam train identically', async () => {
    await initEngine('native');
    const fused = run('adam').records.map((r) => r.loss);
    const opByOp = run('tf-adam').records.map((r) => r.loss);
    fused.forEach((l, i) => assert.ok(Math.abs(l - opByOp[i]) < 1e-4 * Math.abs(opByOp[i]), `step ${i}: ${l} vs ${opByOp[i]}`));
  });

  test('--products records every linear-layer product of the measured steps, then times each shape alone', async () => {
    await initEngine('native');
    const addon = (tf.backend() as unknown as { addon: { matmul: unknown } }).addon;
    const matmul = addon.matmul;
    const result = benchmarkTraining({
      config, shape, steps: 2, warmup: 1, seed: 3, products: true,
      optimizer: { name: 'adam', learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    });
    assert.equal(addon.matmul, matmul, 'the addon is restored');
    const products = result.products ?? [];
    // Forward, input gradient and weight gradient of every linear layer; attention's per-head
    // products run inside the fused attention kernel.
    const { forward, attention } = t5ForwardFlops(config, shape);
    const recorded = products.reduce((sum, p) => sum + p.batch * matmulFlops(p.m, p.n, p.k) * p.calls, 0);
    assert.equal(recorded, 2 * 3 * (forward - attention));
    for (const p of products) {
      assert.ok(p.calls % 2 === 0 && p.seconds > 0, `${JSON.stringify(p)}`);
      assert.ok(p.aloneSeconds !== null && p.aloneSeconds > 0, `${JSON.stringify(p)} was not timed alone`);
    }
  });

  test('the synthetic batch is the same for a seed, has no padding and shifts labels right', () => {
    const a = syntheticBatch(config, shape, 5);
    assert.deepEqual(a, syntheticBatch(config, shape, 5));
    assert.ok(a.attentionMask.flat().every((m) => m === 1));
    assert.deepEqual(a.decoderInputIds[0], [config.decoder_start_token_id, ...a.labels[0].slice(0, -1)]);
    assert.ok(a.inputIds.flat().every((id) => id >= 2 && id < config.vocab_size));
  });
});
