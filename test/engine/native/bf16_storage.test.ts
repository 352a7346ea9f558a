import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { attention, gatedGelu, rmsNorm } from '../../../src/engine/fused';
import { nativeAddon, threadCount, type NativeBackend } from '../../../src/engine/native';
import { roundToBf16, withPrecision } from '../../../src/engine/precision';
import { tf } from '../../../src/engine/tf';
import { caseToBatch } from '../../../src/model/case';
import { makeConfig } from '../../../src/model/config';
import { initParams } from '../../../src/model/params';
import { lossAndGrads } from '../../../src/model/t5';
import { Rng } from '../../../src/util/rng';
import { NATIVE, randomValues } from '../../helpers/backends';

// Activations that only bf16 products read are stored in bf16 (src/engine/native/backend.ts).
// They hold the values the products would round them to anyway, so every result keeps its bits.

after(() => nativeAddon()?.setThreads(threadCount()));

async function bf16Backend(): Promise<NativeBackend | null> {
  await initEngine(NATIVE);
  return nativeAddon()?.info().bf16 === true ? tf.backend() as unknown as NativeBackend : null;
}

/** The bf16 bits of each value, rounded to nearest even as the products round their operands. */
const bf16Bits = (x: Float32Array): Uint16Array =>
  Uint16Array.from(new Uint32Array(Float32Array.from(x, roundToBf16).buffer), (u) => u >>> 16);

const bitsOf = (x: Float32Array): Uint32Array => new Uint32Array(x.slice().buffer);

describe('the bf16 GEMM reading operands stored in bf16', () => {
  test('gives the bits of the same product on float32 operands, on 1 and 2 threads', async (t) => {
    if (!(await bf16Backend())) return t.skip('no AVX512-BF16 here');
    const addon = nativeAddon()!;
    // Partial row and column panels, odd k, two k blocks (k > 2048), several column blocks of B,
    // and batches whose operands broadcast (batchA or batchB 1).
    const shapes: Array<[number, number, number, number, number]> = [[1, 1, 1, 1, 1], [5, 7, 3, 1, 1], [13, 37, 33, 1, 1],
      [130, 33, 2049, 1, 1], [31, 100, 4097, 1, 1], [5, 3000, 31, 1, 1], [13, 40, 77, 3, 3], [20, 50, 64, 3, 1], [20, 50, 64, 1, 3]];
    for (const threads of [1, 2]) {
      addon.setThreads(threads);
      for (const [m, n, k, batchA, batchB] of shapes) {
        const batch = Math.max(batchA, batchB);
        const a = randomValues(batchA * m * k, 21), b = randomValues(batchB * k * n, 22);
        const run = (stored: string, ta: boolean, tb: boolean): Uint32Array => {
          const c = new Float32Array(batch * m * n);
          const [a16, b16] = [stored.includes('a') ? bf16Bits(a) : null, stored.includes('b') ? bf16Bits(b) : null];
          addon.matmul(a16 ? null : a, b16 ? null : b, c, batch, batchA, batchB, m, n, k, ta, tb, true, a16, b16);
          return bitsOf(c);
        };
        const what = `${threads} thread(s), [${m}×${k}]·[${k}×${n}], batch ${batchA}/${batchB}`;
        const plain = run('', false, false);
        for (const stored of ['a', 'b', 'ab']) assert.deepEqual(run(stored, false, false), plain, `${what}, ${stored} stored in bf16`);
        // The places an activation or gradient takes: a linear layer's input (A, Bᵀ a weight), its
        // weight gradient (Aᵀ·B, both stored), its input gradient (A·B, A stored).
        assert.deepEqual(run('a', false, true), run('', false, true), `${what}, A·Bᵀ`);
        const transposedA = run('', true, false);
        for (const stored of ['a', 'b', 'ab']) assert.deepEqual(run(stored, true, false), transposedA, `${what}, Aᵀ·B, ${stored} stored`);
      }
    }
  });

  test('refuses an operand stored in bf16 where it cannot read one, naming the argument', async (t) => {
    if (!(await bf16Backend())) return t.skip('no AVX512-BF16 here');
    const addon = nativeAddon()!;
    const [f, h, c] = [new Float32Array(4), new Uint16Array(4), new Float32Array(4)];
    assert.throws(() => addon.matmul(f, null, c, 1, 1, 1, 2, 2, 2, false, true, true, null, h), /a B stored in bf16 cannot be transposed/);
    assert.throws(() => addon.matmul(null, f, c, 1, 1, 1, 2, 2, 2, false, false, false, h, null), /needs bf16 products/);
    assert.throws(() => addon.matmul(f, f, c, 1, 1, 1, 2, 2, 2, false, false, true, h, null), /give each operand once/);
    assert.throws(() => addon.matmul(null, f, c, 1, 1, 1, 2, 2, 2, false, false, true, null, null), /give each operand once/);
  });
});

describe('kernels that store their output in bf16', () => {
  test('RMSNorm, gated GELU and attention, and the two gradients, store their float32 outputs rounded to bf16, on 1 and 2 threads', async (t) => {
    if (!(await bf16Backend())) return t.skip('no AVX512-BF16 here');
    const addon = nativeAddon()!;
    for (const threads of [1, 2]) {
      addon.setThreads(threads);
      // RMSNorm: rows past a vector's width, two feature groups (a fused model's), a tail.
      for (const [rows, groups] of [[3, [37]], [70, [64, 64]], [129, [512]]] as const) {
        const d = groups.reduce((x, y) => x + y, 0);
        const x = randomValues(rows * d, 31), w = randomValues(d, 32, 0.5, 1.5);
        const y = new Float32Array(rows * d), y16 = new Uint16Array(rows * d);
        addon.rmsNorm(x, w, y, null, rows, d, Int32Array.from(groups), 1e-6);
        addon.rmsNorm(x, w, null, y16, rows, d, Int32Array.from(groups), 1e-6);
        assert.deepEqual(y16, bf16Bits(y), `RMSNorm ${rows}×${d}, ${threads} thread(s)`);
      }
      // Gated GELU and its gradient: a tail past the kernel's blocks and past several tasks.
      for (const n of [1, 17, 1024, 70001]) {
        const gate = randomValues(n, 33, -4, 4), lin = randomValues(n, 34), dy = randomValues(n, 39);
        const y = new Float32Array(n), y16 = new Uint16Array(n);
        addon.gatedGelu(gate, lin, y, null);
        addon.gatedGelu(gate, lin, null, y16);
        assert.deepEqual(y16, bf16Bits(y), `gated GELU of ${n}, ${threads} thread(s)`);
        const [dGate, dLin, dGate16, dLin16] = [new Float32Array(n), new Float32Array(n), new Uint16Array(n), new Uint16Array(n)];
        addon.gatedGeluGrad(dy, gate, lin, dGate, dLin, null, null);
        addon.gatedGeluGrad(dy, gate, lin, null, null, dGate16, dLin16);
        assert.deepEqual([dGate16, dLin16], [bf16Bits(dGate), bf16Bits(dLin)], `gated GELU's gradient of ${n}, ${threads} thread(s)`);
      }
      // Attention: T5's three kinds (bias and padding, causal, cross with padding).
      const [batch, heads, dk] = [3, 4, 16];
      for (const [tq, tk, causal, withBias] of [[24, 24, false, true], [9, 9, true, true], [9, 24, false, false]] as const) {
        const width = heads * dk;
        const q = randomValues(batch * tq * width, 35), k = randomValues(batch * tk * width, 36), v = randomValues(batch * tk * width, 37);
        const bias = withBias ? randomValues(heads * tq * tk, 38) : null;
        const mask = causal ? null : Float32Array.from({ length: batch * tk }, (_, i) => (i % tk < tk - (i / tk | 0) ? 1 : 0));
        const probs = new Float32Array(batch * heads * tq * tk);
        const out = new Float32Array(batch * tq * width), out16 = new Uint16Array(batch * tq * width);
        addon.attention(q, k, v, bias, mask, probs, out, null, batch, heads, tq, tk, dk, causal, true);
        const probs16 = new Float32Array(probs.length);
        addon.attention(q, k, v, bias, mask, probs16, null, out16, batch, heads, tq, tk, dk, causal, true);
        assert.deepEqual(out16, bf16Bits(out), `attention ${tq}×${tk}, ${threads} thread(s)`);
        assert.deepEqual(bitsOf(probs16), bitsOf(probs), `attention's probabilities ${tq}×${tk}`);
        const dOut = randomValues(out.length, 40);
        const grads = [q, k, v].map((x) => new Float32Array(x.length));
        const halves = [q, k, v].map((x) => new Uint16Array(x.length));
        const [dBias, dBias16] = [withBias ? new Float32Array(heads * tq * tk) : null, withBias ? new Float32Array(heads * tq * tk) : null];
        addon.attentionGrad(dOut, q, k, v, probs, grads[0], grads[1], grads[2], null, null, null, dBias, batch, heads, tq, tk, dk, true);
        addon.attentionGrad(dOut, q, k, v, probs, null, null, null, halves[0], halves[1], halves[2], dBias16, batch, heads, tq, tk, dk,
          true);
        assert.deepEqual(halves, grads.map(bf16Bits), `attention's gradients ${tq}×${tk}, ${threads} thread(s)`);
        if (dBias && dBias16) assert.deepEqual(bitsOf(dBias16), bitsOf(dBias), 'the bias gradient');
      }
    }
  });

  test('a kernel gives one output, and a bf16 one only with bf16 products', async (t) => {
    if (!(await bf16Backend())) return t.skip('no AVX512-BF16 here');
    const addon = nativeAddon()!;
    const [f, h] = [new Float32Array(4), new Uint16Array(4)];
    assert.throws(() => addon.rmsNorm(f, f, f, h, 1, 4, Int32Array.of(4), 1e-6), /give one output/);
    assert.throws(() => addon.gatedGelu(f, f, null, null), /give one output/);
    const probs = new Float32Array(1);
    assert.throws(() => addon.attention(f, f, f, null, null, probs, null, h, 1, 1, 1, 1, 4, false, false), /needs bf16 products/);
    assert.throws(() => addon.gatedGeluGrad(f, f, f, f, null, h, null), /give dGate and dLinear, or both in bf16/);
    assert.throws(() => addon.attentionGrad(f, f, f, f, probs, f, f, null, null, null, null, null, 1, 1, 1, 1, 4, true),
      /give dQ, dK and dV, or all three in bf16/);
  });
});

describe('the native backend storing activations in bf16', () => {
  test('a tensor stored in bf16 reads back widened, shares its storage through a reshape, and frees it', async (t) => {
    const backend = await bf16Backend();
    if (!backend) return t.skip('no AVX512-BF16 here');
    const x = randomValues(6 * 64, 41), w = randomValues(64, 42, 0.5, 1.5);
    const before = tf.memory().numTensors;
    const expected = withPrecision('fp32', () => tf.tidy(() => rmsNorm(tf.tensor(x, [6, 64]), tf.tensor(w), { eps: 1e-6 }).dataSync().slice()));
    const [y, flat] = withPrecision('bf16', () => tf.tidy(() => {
      const out = rmsNorm(tf.tensor(x, [6, 64]), tf.tensor(w), { eps: 1e-6, productsOnly: true });
      return [out, out.reshape([6 * 64])];
    }));
    assert.ok(backend.f32OrBf16(y) instanceof Uint16Array, 'stored in bf16');
    assert.ok(backend.f32OrBf16(flat) instanceof Uint16Array, 'the reshape shares the bf16 storage');
    // Any reader but the product sees float32: the values the products would have read.
    assert.deepEqual(bitsOf(flat.dataSync() as Float32Array), bitsOf(Float32Array.from(expected, roundToBf16)));
    assert.ok(backend.f32OrBf16(y) instanceof Float32Array, 'widened in place for both');
    assert.ok(backend.widened > 0);
    tf.dispose([y, flat]);
    assert.equal(tf.memory().numTensors, before);
    // A cpu kernel (cumsum has no native one) reading a stored tensor gets it widened too.
    const sums = withPrecision('bf16', () => tf.tidy(() =>
      tf.cumsum(rmsNorm(tf.tensor(x, [6, 64]), tf.tensor(w), { eps: 1e-6, productsOnly: true }), 1).dataSync().slice()));
    const rounded = Float32Array.from(expected, roundToBf16);
    assert.equal(sums[63], tf.tidy(() => tf.cumsum(tf.tensor(rounded, [6, 64]), 1).dataSync()[63]));
  });

  test('outputs are stored in bf16 only with bf16 products and where the op says only products read them', async (t) => {
    const backend = await bf16Backend();
    if (!backend) return t.skip('no AVX512-BF16 here');
    const stored = (precision: 'fp32' | 'bf16', productsOnly: boolean): boolean[] => withPrecision(precision, () => {
      const [x, w] = [tf.tensor(randomValues(8 * 32, 43), [2, 4, 32]), tf.tensor(randomValues(32, 44))];
      const outs = [rmsNorm(x, w, { eps: 1e-6, productsOnly }), gatedGelu(x, x, { productsOnly }),
        attention(x, x, x, 2, { causal: false, productsOnly })];
      const kinds = outs.map((o) => backend.f32OrBf16(o) instanceof Uint16Array);
      tf.dispose([x, w, ...outs]);
      return kinds;
    });
    assert.deepEqual(stored('bf16', true), [true, true, true]);
    assert.deepEqual(stored('bf16', false), [false, false, false]);
    assert.deepEqual(stored('fp32', true), [false, false, false]);
  });

  test('a T5 training step in bf16 has the same bits with and without bf16 storage, and stores its activations so', async (t) => {
    const backend = await bf16Backend();
    if (!backend) return t.skip('no AVX512-BF16 here');
    const config = makeConfig({ vocab_size: 300, d_model: 64, d_kv: 16, num_heads: 4, d_ff: 128, num_layers: 2 });
    const params = initParams(config, 5);
    const rng = Rng.fromSeed(6);
    const ids = (len: number): number[][] => Array.from({ length: 4 }, () => Array.from({ length: len }, () => 2 + rng.integer(290)));
    const mask = Array.from({ length: 4 }, (_, b) => Array.from({ length: 24 }, (_, i) => (i < 24 - 3 * b ? 1 : 0)));
    const batch = caseToBatch({ input_ids: ids(24), attention_mask: mask, labels: ids(8), decoder_input_ids: ids(8) });
    const step = (): { bits: Uint32Array[]; storedCount: number } => {
      let storedCount = 0;
      const outputBf16 = backend.outputBf16.bind(backend);
      backend.outputBf16 = (shape) => {
        storedCount++;
        return outputBf16(shape);
      };
      try {
        const bits = withPrecision('bf16', () => {
          const { loss, grads } = lossAndGrads(config, params, batch);
          const all = [loss, ...Object.keys(grads).sort().map((n) => grads[n])];
          const out = all.map((g) => bitsOf(g.dataSync() as Float32Array));
          tf.dispose(all);
          return out;
        });
        return { bits, storedCount };
      } finally {
        backend.outputBf16 = outputBf16;
      }
    };
    const widened = backend.widened;
    const stored = step();
    assert.equal(backend.widened, widened, 'only products read what the step stores in bf16: nothing is widened');
    backend.bf16Storage = false;
    let plain: ReturnType<typeof step>;
    try {
      plain = step();
    } finally {
      backend.bf16Storage = true;
    }
    // Per layer: its norms, the gated GELU, each attention's context; the two stacks' final norms;
    // backward, the gated GELU's two input gradients and each attention's three.
    assert.equal(stored.storedCount, 2 * (2 + 1 + 1) + 2 * (3 + 1 + 2) + 2 + 2 * (2 + 3) + 2 * (2 + 3 + 3), 'tensors stored in bf16');
    assert.equal(plain.storedCount, 0);
    assert.equal(stored.bits.length, plain.bits.length);
    stored.bits.forEach((bits, i) => assert.deepEqual(bits, plain.bits[i], i === 0 ? 'loss' : `gradient ${i}`));
  });
});

