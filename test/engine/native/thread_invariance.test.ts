import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { nativeAddon, threadCount, type NativeAddon } from '../../../src/engine/native';
import { adafactorUpdate, adamwUpdate } from '../../../src/engine/fused';
import { withPrecision } from '../../../src/engine/precision';
import { scoped } from '../../../src/engine/scope';
import { tf } from '../../../src/engine/tf';
import { caseToBatch } from '../../../src/model/case';
import { makeConfig } from '../../../src/model/config';
import { initParams } from '../../../src/model/params';
import { lossAndGrads } from '../../../src/model/t5';
import { NATIVE, randomValues } from '../../helpers/backends';
import { Rng } from '../../../src/util/rng';

// The plan runner gives a job as many threads as are free when it starts, so a resumed job may
// run on a different thread count than before: results must not depend on it, bit for bit.
after(() => nativeAddon()?.setThreads(threadCount()));

async function loadedAddon(): Promise<NativeAddon> {
  await initEngine(NATIVE);
  const addon = nativeAddon();
  assert.ok(addon, 'the native addon loads');
  return addon;
}

/** Runs `compute` on 1, 2 and 3 threads: every result must have the same bits each time. */
async function assertSameBitsOnAnyThreadCount(compute: (addon: NativeAddon) => Uint32Array[]): Promise<void> {
  const addon = await loadedAddon();
  const bits = (threads: number): Uint32Array[] => {
    addon.setThreads(threads);
    return compute(addon);
  };
  const one = bits(1);
  for (const threads of [2, 3]) assert.deepEqual(bits(threads), one, `${threads} threads`);
}

const bitsOf = (t: tf.Tensor): Uint32Array => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);

/** A batch and model large enough that every kernel splits its work across threads. */
function t5Step(): () => Uint32Array[] {
  const config = makeConfig({ vocab_size: 2000, d_model: 128, d_kv: 32, num_heads: 4, d_ff: 512, num_layers: 2 });
  const params = initParams(config, 5);
  const rng = Rng.fromSeed(9);
  const ids = (rows: number, len: number) => Array.from({ length: rows }, () => Array.from({ length: len }, () => 2 + rng.integer(1990)));
  const c = { input_ids: ids(8, 96), attention_mask: Array.from({ length: 8 }, () => new Array(96).fill(1)), labels: ids(8, 24), decoder_input_ids: ids(8, 24) };
  return () => scoped(() => {
    const { loss, grads } = lossAndGrads(config, params, caseToBatch(c));
    return [loss, ...Object.values(grads)].map(bitsOf);
  });
}

test('a T5 training step in bf16 computes the same bits on 1, 2 and 3 threads', async (t) => {
  if (!(await loadedAddon()).info().bf16) return t.skip('no AVX512-BF16 here');
  const step = t5Step();
  await assertSameBitsOnAnyThreadCount(() => withPrecision('bf16', step));
});

test('a T5 training step computes the same bits on 1, 2 and 3 threads', async () => {
  await assertSameBitsOnAnyThreadCount(t5Step());
});

test('the fused optimizer updates compute the same bits on 1, 2 and 3 threads', async () => {
  const attrs = { learningRate: 1e-2, beta2: 0.9, eps1: 1e-30, eps2: 1e-3, clipThreshold: 1, scaleParameter: true, beta1: 0.9,
    weightDecay: 0.1, gradScale: 0.5 };
  // A factored matrix of many row blocks and an unfactored vector of many chunks.
  await assertSameBitsOnAnyThreadCount(() => scoped(() => {
    const t = (shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor =>
      tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
    const w = adafactorUpdate(t([700, 300], 1), t([700, 300], 2), { vr: t([700], 3, 0, 1), vc: t([300], 4, 0, 1), m: t([700, 300], 5) }, attrs);
    const b = adafactorUpdate(t([50000], 6), t([50000], 7), { v: t([50000], 8, 0, 1), m: t([50000], 9) }, attrs);
    const a = adamwUpdate(t([50000], 6), t([50000], 7), t([50000], 9), t([50000], 8, 0, 1),
      { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, step: 3, gradScale: 0.5 });
    return [w.param, w.vr!, w.vc!, w.m!, b.param, b.v!, b.m!, a.param, a.m, a.v].map(bitsOf);
  }));
});

test('products of any size and k compute the same bits on 1, 2 and 3 threads', async () => {
  // OpenBLAS takes the large ones (≥ 2^24 multiply-adds) on its own threads, whole when its serial
  // and threaded drivers cut k alike (k = 300, 512, 2048 on SkylakeX, whose k-block is 448) and
  // block by block when they would not (700, 1000, 2000). Products below that size are tiled
  // across the pool; the smallest tiles go to OpenBLAS's small-matrix kernel.
  const cases: Array<{ m: number; n: number; k: number; transA: boolean; transB: boolean; batch?: number }> = [
    { m: 64, n: 1024, k: 300, transA: false, transB: false },
    { m: 96, n: 768, k: 300, transA: true, transB: true },
    { m: 200, n: 100, k: 2000, transA: false, transB: true },
    { m: 100, n: 200, k: 2000, transA: true, transB: false },
    { m: 128, n: 256, k: 512, transA: false, transB: true },
    { m: 64, n: 160, k: 2048, transA: true, transB: false },
    { m: 160, n: 160, k: 700, transA: false, transB: false },
    { m: 130, n: 140, k: 1000, transA: true, transB: true },
    { m: 128, n: 128, k: 900, transA: false, transB: false },
    { m: 32, n: 32, k: 1000, transA: false, transB: true },
    // Mid-sized products the pool tiles: OpenBLAS rounds an element differently depending on the
    // width of the block it computes it in, so the tiles must not follow the thread count.
    { m: 32, n: 128, k: 128, transA: false, transB: true },
    { m: 32, n: 8192, k: 128, transA: false, transB: true },
    { m: 64, n: 256, k: 128, transA: false, transB: true },
    { m: 48, n: 200, k: 96, transA: true, transB: false },
    // Batches run in parallel over items when they outnumber the threads, else item by item.
    { m: 32, n: 128, k: 128, transA: false, transB: true, batch: 2 },
    { m: 32, n: 128, k: 128, transA: false, transB: true, batch: 5 },
  ];
  await assertSameBitsOnAnyThreadCount((addon) => cases.map(({ m, n, k, transA, transB, batch = 1 }, i) => {
    const c = new Float32Array(batch * m * n);
    addon.matmul(randomValues(batch * m * k, 10 + i), randomValues(batch * k * n, 20 + i), c, batch, batch, batch, m, n, k, transA, transB, false, null, null);
    return new Uint32Array(c.buffer);
  }));
});

test('bf16 products of any size and k compute the same bits on 1, 2 and 3 threads', async (t) => {
  if (!(await loadedAddon()).info().bf16) return t.skip('no AVX512-BF16 here');
  // From 2^24 multiply-adds the pool shares B's packed panels and splits rows; below, products
  // run whole. k blocks end at the same places either way.
  const cases: Array<{ m: number; n: number; k: number; transA: boolean; transB: boolean; batch?: number }> = [
    { m: 777, n: 513, k: 1031, transA: false, transB: true },
    { m: 300, n: 2100, k: 77, transA: true, transB: false },
    { m: 64, n: 1024, k: 300, transA: true, transB: true },
    { m: 1000, n: 40, k: 2048, transA: false, transB: false },
    { m: 200, n: 100, k: 2001, transA: true, transB: true },
    { m: 160, n: 160, k: 700, transA: false, transB: false },
    { m: 33, n: 31, k: 1025, transA: false, transB: true },
    // Aᵀ packed four panels at a time on 1 and 2 threads, one at a time on 3 (too few rows), across two k blocks.
    { m: 520, n: 96, k: 2100, transA: true, transB: false },
    // Batches run in parallel over items when they outnumber the threads, else item by item.
    { m: 32, n: 128, k: 128, transA: false, transB: true, batch: 5 },
  ];
  await assertSameBitsOnAnyThreadCount((addon) => cases.map(({ m, n, k, transA, transB, batch = 1 }, i) => {
    const c = new Float32Array(batch * m * n);
    addon.matmul(randomValues(batch * m * k, 10 + i), randomValues(batch * k * n, 20 + i), c, batch, batch, batch, m, n, k, transA, transB, true, null, null);
    return new Uint32Array(c.buffer);
  }));
});

test('the AdamW kernel computes the same bits for an element whatever its array offset', async () => {
  const addon = await loadedAddon();
  // Vector-aligned runs use streaming vector stores and the rest a scalar loop; which elements
  // fall in which depends on the arrays' addresses and the thread count, so both must agree.
  const n = 1008;
  const inputs = [randomValues(n + 16, 1), randomValues(n + 16, 2), randomValues(n + 16, 3), randomValues(n + 16, 4, 0, 1)];
  const run = (offset: number): Uint32Array[] => {
    const [p, g, m, v] = inputs.map((x) => x.subarray(offset, offset + n));
    // One buffer for the three outputs, 64-byte strides apart, so they share an alignment and
    // some offsets take the streaming stores, others the plain ones.
    const block = new Float32Array(3 * (n + 16));
    const outs = [0, 1, 2].map((k) => block.subarray(k * (n + 16) + offset, k * (n + 16) + offset + n));
    addon.adamw(p, g, m, v, outs[0], outs[1], outs[2], 1e-3, 0.9, 0.999, 1e-8, 0.1, 3, 0.5);
    return outs.map((o) => new Uint32Array(o.slice().buffer));
  };
  const base = run(0);
  for (let offset = 1; offset < 16; offset++) {
    const shifted = run(offset);
    // Element j of the shifted run is input element offset + j; compare it with the same input in the base run.
    for (let k = 0; k < 3; k++) assert.deepEqual(shifted[k].subarray(0, n - offset), base[k].subarray(offset, n), `offset ${offset}, output ${k}`);
  }
});
