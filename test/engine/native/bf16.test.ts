import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { attentionContext, attentionScores } from '../../../src/engine/fused';
import { nativeAddon } from '../../../src/engine/native';
import { bf16Unavailable, productPrecision, resolvePrecision, roundToBf16, withPrecision } from '../../../src/engine/precision';
import { tf, type Tensor } from '../../../src/engine/tf';
import { makeConfig } from '../../../src/model/config';
import { initParams } from '../../../src/model/params';
import { lossAndGrads } from '../../../src/model/t5';
import { caseToBatch } from '../../../src/model/case';
import { Rng } from '../../../src/util/rng';
import { NATIVE, REFERENCE, randomValues } from '../../helpers/backends';
import { assertClose, relativeError } from '../../helpers/compare';
import { gemmReference } from '../../helpers/gemm_reference';

// bf16 products: op(A)·op(B) of bf16-rounded operands, summed in float32. The reference is the
// same product in float64 of the rounded operands, so only the float32 sums differ.

const hasBf16 = async (): Promise<boolean> => {
  await initEngine(NATIVE);
  return nativeAddon()?.info().bf16 === true;
};

const rounded = (x: Float32Array): Float32Array => Float32Array.from(x, roundToBf16);

const transposed = (x: ArrayLike<number>, rows: number, cols: number): Float64Array => {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
};

describe('bf16 products on the native backend', () => {
  // The last two cross the kernel's column blocks of B: 1888 columns wide at k = 1100 (a short k
  // widens them), 1024 at k = 2100, which also takes two k blocks.
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [5, 7, 3], [13, 37, 33], [64, 48, 32], [100, 70, 513], [37, 600, 1100],
    [9, 2000, 1100], [20, 1100, 2100]];
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      test(`[${m}x${k}]·[${k}x${n}] transposeA=${ta} transposeB=${tb}: the product of bf16-rounded operands, and its gradients`, async (t) => {
        if (!(await hasBf16())) return t.skip('no AVX512-BF16 here');
        const a = randomValues(m * k, 1), b = randomValues(k * n, 2), w = randomValues(m * n, 3, 0.5, 1.5);
        const [c, da, db] = withPrecision('bf16', () => tf.tidy(() => {
          const [ta_, tb_, tw] = [tf.tensor(a, ta ? [k, m] : [m, k]), tf.tensor(b, tb ? [n, k] : [k, n]), tf.tensor(w, [m, n])];
          const f = (x: Tensor, y: Tensor): Tensor => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), tw));
          const grads = tf.grads(f)([ta_, tb_]);
          return [tf.matMul(ta_, tb_, ta, tb), ...grads].map((x) => x.dataSync().slice());
        }));
        const [ra, rb, rw] = [rounded(a), rounded(b), rounded(w)];
        assertClose(c, gemmReference(ra, rb, m, n, k, ta, tb), 1e-6, 'product');
        // d op(A) = W·op(B)ᵀ and d op(B) = op(A)ᵀ·W, every operand rounded as the backward products round them.
        const opB = tb ? rb : transposed(rb, k, n); // op(B)ᵀ as [n, k]
        const opA = ta ? transposed(ra, k, m) : ra; // op(A) as [m, k]
        const dOpA = gemmReference(rw, opB, m, k, n, false, false);
        const dOpB = gemmReference(opA, rw, k, n, m, true, false);
        assertClose(da, ta ? transposed(dOpA, m, k) : dOpA, 1e-6, 'gradient of A');
        assertClose(db, tb ? transposed(dOpB, k, n) : dOpB, 1e-6, 'gradient of B');
      });
    }
  }

  test('a bf16 product has the same bits whichever of its operands are stored transposed', async (t) => {
    if (!(await hasBf16())) return t.skip('no AVX512-BF16 here');
    // A's rows are packed as they are and Aᵀ's pair by pair across the rows; B's and Bᵀ's each
    // their own way too. Every layout must give the same pairs, summed in the same order. The
    // shapes take partial row panels (m not a multiple of 12) and column panels, odd k, two k
    // blocks (k > 2048), several column blocks of B (n = 70000 at k = 31), a batch, and an Aᵀ past
    // the 16 MB that is packed whole (4200 × 2048), which is packed by groups of rows instead.
    const shapes: Array<[number, number, number, number]> = [[1, 1, 1, 1], [5, 7, 3, 1], [13, 37, 33, 1], [12, 32, 128, 1],
      [130, 33, 2049, 1], [31, 100, 4097, 1], [300, 130, 129, 1], [5, 70000, 31, 1], [13, 40, 77, 3], [4200, 40, 2048, 1]];
    const asFloat32 = (x: Float32Array, rows: number, cols: number, batch: number): Float32Array => {
      const out = new Float32Array(x.length);
      for (let i = 0; i < batch; i++) out.set(transposed(x.subarray(i * rows * cols, (i + 1) * rows * cols), rows, cols), i * rows * cols);
      return out;
    };
    const addon = nativeAddon()!;
    for (const [m, n, k, batch] of shapes) {
      const a = randomValues(batch * m * k, 11), b = randomValues(batch * k * n, 12);
      const aT = asFloat32(a, m, k, batch), bT = asFloat32(b, k, n, batch);
      const bits = (ta: boolean, tb: boolean): Uint32Array => {
        const c = new Float32Array(batch * m * n);
        addon.matmul(ta ? aT : a, tb ? bT : b, c, batch, batch, batch, m, n, k, ta, tb, true, null, null);
        return new Uint32Array(c.buffer);
      };
      const plain = bits(false, false);
      assert.ok(plain.some((x) => x !== 0), `[${m}x${k}]·[${k}x${n}] computes something`);
      for (const [ta, tb] of [[false, true], [true, false], [true, true]] as const) {
        assert.deepEqual(bits(ta, tb), plain, `[${m}x${k}]·[${k}x${n}] batch ${batch}, transposeA=${ta} transposeB=${tb}`);
      }
    }
  });

  test('bf16 rounds: its products differ from float32 ones by bf16 rounding, no more', async (t) => {
    if (!(await hasBf16())) return t.skip('no AVX512-BF16 here');
    const [m, n, k] = [64, 96, 256];
    const a = randomValues(m * k, 4), b = randomValues(k * n, 5);
    const product = (): Float32Array => tf.tidy(() => tf.matMul(tf.tensor(a, [m, k]), tf.tensor(b, [k, n])).dataSync() as Float32Array);
    const fp32 = product();
    const bf16 = withPrecision('bf16', product);
    const gap = relativeError(bf16, gemmReference(a, b, m, n, k, false, false));
    assert.ok(gap > 1e-4 && gap < 1e-2, `bf16 against the exact product: relative error ${gap}`);
    assert.ok(relativeError(fp32, gemmReference(a, b, m, n, k, false, false)) < 1e-6, 'outside the scope products are float32');
    assert.equal(productPrecision(), 'fp32', 'the scope ends with its function');
  });

  test('attention scores and context in bf16 are the products of the rounded projections', async (t) => {
    if (!(await hasBf16())) return t.skip('no AVX512-BF16 here');
    const [batch, heads, tq, tk, dk] = [2, 3, 5, 7, 8];
    const q = randomValues(batch * tq * heads * dk, 6), k = randomValues(batch * tk * heads * dk, 7);
    const p = randomValues(batch * heads * tq * tk, 8, 0, 1);
    const [scores, context] = withPrecision('bf16', () => tf.tidy(() => [
      attentionScores(tf.tensor(q, [batch, tq, heads * dk]), tf.tensor(k, [batch, tk, heads * dk]), heads),
      attentionContext(tf.tensor(p, [batch, heads, tq, tk]), tf.tensor(k, [batch, tk, heads * dk])),
    ].map((x) => x.dataSync().slice())));
    // The float32 reference kernels (cpu backend) on rounded operands: products of bf16 values are exact in float32.
    await initEngine(REFERENCE);
    const [refScores, refContext] = tf.tidy(() => [
      attentionScores(tf.tensor(rounded(q), [batch, tq, heads * dk]), tf.tensor(rounded(k), [batch, tk, heads * dk]), heads),
      attentionContext(tf.tensor(rounded(p), [batch, heads, tq, tk]), tf.tensor(rounded(k), [batch, tk, heads * dk])),
    ].map((x) => x.dataSync().slice()));
    assertClose(scores, refScores, 1e-6, 'scores');
    assertClose(context, refContext, 1e-6, 'context');
  });

  test('a T5 training step in bf16 stays close to float32', async (t) => {
    if (!(await hasBf16())) return t.skip('no AVX512-BF16 here');
    const config = makeConfig({ vocab_size: 300, d_model: 64, d_kv: 16, num_heads: 4, d_ff: 128, num_layers: 2 });
    const params = initParams(config, 3);
    const rng = Rng.fromSeed(4);
    const ids = (len: number): number[][] => Array.from({ length: 4 }, () => Array.from({ length: len }, () => 2 + rng.integer(290)));
    const batch = caseToBatch({ input_ids: ids(24), attention_mask: Array.from({ length: 4 }, () => new Array(24).fill(1)), labels: ids(8),
      decoder_input_ids: ids(8) });
    const step = (): { loss: number; grad: Float32Array } => tf.tidy(() => {
      const { loss, grads } = lossAndGrads(config, params, batch);
      return { loss: loss.dataSync()[0], grad: grads['encoder.block.0.layer.1.DenseReluDense.wo.weight'].dataSync().slice() as Float32Array };
    });
    const fp32 = step();
    const bf16 = withPrecision('bf16', step);
    assert.ok(Math.abs(bf16.loss - fp32.loss) < 1e-2 * fp32.loss, `loss ${bf16.loss} vs ${fp32.loss}`);
    assert.ok(bf16.loss !== fp32.loss, 'the bf16 step rounds');
    const gap = relativeError(bf16.grad, fp32.grad);
    assert.ok(gap < 3e-2, `gradient relative error ${gap}`);
  });
});

describe('precision where bf16 cannot run', () => {
  test('the cpu backend computes in float32 only: a bf16 scope there is refused, and bf16 asked for falls back to fp32', async () => {
    await initEngine(REFERENCE);
    assert.match(bf16Unavailable() ?? '', /cpu backend computes in float32 only/);
    assert.throws(() => withPrecision('bf16', () => 0), /bf16 products cannot run: the cpu backend/);
    assert.equal(resolvePrecision('bf16'), 'fp32');
    assert.equal(resolvePrecision(undefined), 'fp32');
    assert.equal(resolvePrecision('fp32'), 'fp32');
  });

  test('the native addon refuses a bf16 product when it is built without bf16', async (t) => {
    if (await hasBf16()) return t.skip('this addon has bf16 products (the portable-build test builds one without)');
    const c = new Float32Array(4);
    assert.throws(() => nativeAddon()!.matmul(new Float32Array(4), new Float32Array(4), c, 1, 1, 1, 2, 2, 2, false, false, true, null, null),
      /bf16 products need AVX512-BF16/);
  });

  test('the machine default is bf16 exactly where the native backend has bf16 products', async () => {
    await initEngine(NATIVE);
    assert.equal(resolvePrecision(undefined), nativeAddon()?.info().bf16 ? 'bf16' : 'fp32');
  });
});
