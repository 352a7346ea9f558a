import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { adafactorUpdate, adamwUpdate, attention, attentionContext, attentionScores, attentionSoftmax, crossEntropy, gatedGelu, rmsNorm } from '../../../src/engine/fused';
import { nativeAddon } from '../../../src/engine/native';
import { withPrecision } from '../../../src/engine/precision';
import { scoped } from '../../../src/engine/scope';
import { tf } from '../../../src/engine/tf';
import { assertGradParity, assertParity, intInput, NATIVE, randomInput } from '../../helpers/backends';

/** A [B, Tk] padding mask: row b attends to its first `lengths[b]` keys (made inside the computation: it has no gradient). */
function keyMask(lengths: number[], keys: number): tf.Tensor {
  return tf.tensor(lengths.flatMap((n) => Array.from({ length: keys }, (_, k) => (k < n ? 1 : 0))), [lengths.length, keys]);
}

describe('native fused ops against their reference kernels', () => {
  test('rmsNorm: one group, several groups, odd widths, rank 2 and 3, with gradients', async () => {
    for (const [shape, groups] of [[[5, 8], [8]], [[2, 3, 12], [4, 8]], [[7, 13], [1, 5, 7]], [[33, 512], [512]]] as Array<[number[], number[]]>) {
      const d = shape[shape.length - 1];
      await assertGradParity(`rmsNorm [${shape}] groups [${groups}]`, [randomInput(shape, 1, -2, 2), randomInput([d], 2, 0.5, 1.5)],
        (x, w) => rmsNorm(x, w, { groups, eps: 1e-6 }), 2e-5);
    }
    // One feature per group: y = ±w exactly and dx is pure cancellation, so values only.
    await assertParity('rmsNorm width 1', [randomInput([3, 1], 1, -2, 2), randomInput([1], 2)], (x, w) => rmsNorm(x, w, { eps: 1e-6 }));
    await assertParity('rmsNorm empty', [randomInput([0, 4], 3), randomInput([4], 4)], (x, w) => rmsNorm(x, w, { eps: 1e-6 }));
  });

  test('attentionSoftmax: bias, padding mask, causal, Tq ≠ Tk, with gradients', async () => {
    const [b, h, tq, tk] = [2, 3, 5, 7];
    const scores = randomInput([b, h, tq, tk], 5, -4, 4);
    const bias = randomInput([h, tq, tk], 6);
    const mask = (): tf.Tensor => keyMask([7, 4], tk);
    await assertGradParity('plain', [scores], (s) => attentionSoftmax(s, { causal: false }));
    await assertGradParity('bias', [scores, bias], (s, bi) => attentionSoftmax(s, { bias: bi, causal: false }));
    await assertGradParity('mask', [scores], (s) => attentionSoftmax(s, { keyMask: mask(), causal: false }));
    await assertGradParity('bias + mask + causal', [scores, bias],
      (s, bi) => attentionSoftmax(s, { bias: bi, keyMask: mask(), causal: true }));
    const square = randomInput([b, h, tk, tk], 7, -4, 4);
    await assertGradParity('causal square', [square, randomInput([h, tk, tk], 8)], (s, bi) => attentionSoftmax(s, { bias: bi, causal: true }));
  });

  test('attentionSoftmax: a fully masked row is the softmax of scores + bias, as in the reference', async () => {
    await assertParity('fully masked', [randomInput([2, 1, 3, 4], 9), randomInput([1, 3, 4], 10)],
      (s, bi) => attentionSoftmax(s, { bias: bi, keyMask: keyMask([0, 2], 4), causal: false }));
  });

  test('attentionSoftmax at training size (many rows, 128 keys)', async () => {
    await assertParity('large', [randomInput([4, 8, 128, 128], 11, -8, 8), randomInput([8, 128, 128], 12)],
      (s, bi) => attentionSoftmax(s, { bias: bi, keyMask: keyMask([128, 100, 1, 64], 128), causal: false }));
  });

  test('attentionSoftmax: infinite and NaN scores, and a padding mask with holes, as in the reference', async () => {
    // Rows go four at a time through the native softmax when they share their keys, and take
    // shortcuts when a row's max is finite: rows with −inf, +inf and NaN scores must still come
    // out as the reference's (a NaN row where it has one), beside ordinary rows of the same group.
    // (The NaN rows are in the unpadded batch item: where the reference's padded keys get NaN too,
    // ours get 0, as they do in every row with a live key.)
    const [b, h, tq, tk] = [3, 2, 8, 40];
    const scores = randomInput([b, h, tq, tk], 16, -4, 4);
    const at = (bi: number, hi: number, q: number, k: number): number => ((bi * h + hi) * tq + q) * tk + k;
    const values = scores.values as Float32Array;
    values[at(0, 0, 1, 3)] = -Infinity;
    values[at(0, 0, 1, 30)] = -Infinity;
    values[at(0, 1, 2, 5)] = NaN;
    values[at(0, 0, 5, 7)] = Infinity;
    values[at(1, 1, 3, 24)] = -Infinity;
    values[at(2, 1, 6, 4)] = -Infinity;
    const mask = (): tf.Tensor => tf.tensor([
      ...Array.from({ length: tk }, () => 1),
      ...Array.from({ length: tk }, (_, k) => (k < 25 ? 1 : 0)),
      ...Array.from({ length: tk }, (_, k) => (k % 3 === 0 ? 0 : 1)),
    ], [b, tk]);
    await assertParity('non-finite scores', [scores, randomInput([h, tq, tk], 17)],
      (s, bi) => attentionSoftmax(s, { bias: bi, keyMask: mask(), causal: false }));
  });

  test('crossEntropy: ignored labels, large vocabulary, with gradients', async () => {
    await assertGradParity('small', [randomInput([6, 11], 13, -3, 3), intInput([6], [0, 10, -100, 3, 3, -100])],
      (l, y) => crossEntropy(l, y), 2e-5);
    const labels = Array.from({ length: 64 }, (_, i) => (i % 7 === 0 ? -100 : (i * 131) % 8192));
    await assertGradParity('vocab 8192', [randomInput([64, 8192], 14, -10, 10), intInput([64], labels)], (l, y) => crossEntropy(l, y), 2e-5);
  });

  test('crossEntropy: all labels ignored gives NaN (as HF); a bad label is refused', async () => {
    await assertParity('all ignored', [randomInput([2, 5], 15), intInput([2], [-100, -100])], (l, y) => crossEntropy(l, y));
    await initEngine(NATIVE);
    const logits = tf.zeros([2, 5]);
    const labels = tf.tensor1d([1, 5], 'int32');
    assert.throws(() => crossEntropy(logits, labels), /label 5 is outside the vocabulary \[0, 5\)/);
    tf.dispose([logits, labels]);
  });

  test('gatedGelu: odd and large sizes, with gradients', async () => {
    for (const shape of [[7], [3, 5, 9], [64, 2048]]) {
      await assertGradParity(`gatedGelu [${shape}]`, [randomInput(shape, 16, -6, 6), randomInput(shape, 17)], (g, l) => gatedGelu(g, l));
    }
    await assertParity('gatedGelu empty', [randomInput([0, 3], 18), randomInput([0, 3], 19)], (g, l) => gatedGelu(g, l));
  });

  test('adamwUpdate: several steps, with and without weight decay and gradient scale', async () => {
    const inputs = [randomInput([37, 11], 20), randomInput([37, 11], 21), randomInput([37, 11], 22, -0.1, 0.1), randomInput([37, 11], 23, 0, 0.01)];
    for (const [step, weightDecay, gradScale] of [[1, 0, 1], [2, 0.01, 0.3], [1000, 0.1, 1]]) {
      await assertParity(`adamw step ${step} wd ${weightDecay} gradScale ${gradScale}`, inputs, (p, g, m, v) => {
        const r = adamwUpdate(p, g, m, v, { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay, step, gradScale });
        return [r.param, r.m, r.v];
      }, 1e-6);
    }
  });
});

describe('native Adafactor update against its reference kernel', () => {
  // Factored shapes with a partial row block, several row blocks (> 64 rows) and a leading axis;
  // unfactored ones of rank 1 and 0 and one of several chunks (> 2^14 elements).
  const shapes = [[37, 11], [130, 300], [2, 70, 9], [37], [], [40000]];
  const t5 = { learningRate: 1e-2, beta2: 0, eps1: 1e-30, eps2: 1e-3, clipThreshold: 1, scaleParameter: true, beta1: 0, weightDecay: 0, gradScale: 1 };
  const settings = [
    { what: 'T5 settings, first update', attrs: t5 },
    { what: 'T5 settings, update 10', attrs: { ...t5, beta2: 1 - 10 ** -0.8 } },
    { what: 'β1, weight decay, no parameter scale, tight clip, gradient scale',
      attrs: { ...t5, beta2: 0.9, beta1: 0.9, weightDecay: 0.1, scaleParameter: false, clipThreshold: 0.5, gradScale: 0.25 } },
  ];
  for (const shape of shapes) {
    test(`adafactorUpdate [${shape}]`, async () => {
      const factored = shape.length >= 2;
      const moment = (s: number[], seed: number) => randomInput(s, seed, 0, 0.01);
      for (const { what, attrs } of settings) {
        const moments = factored ? [moment(shape.slice(0, -1), 42), moment([...shape.slice(0, -2), shape[shape.length - 1]], 43)] : [moment(shape, 44)];
        if (attrs.beta1 > 0) moments.push(randomInput(shape, 45, -0.01, 0.01));
        await assertParity(`adafactor [${shape}] ${what}`, [randomInput(shape, 40), randomInput(shape, 41, -0.1, 0.1), ...moments],
          (p, g, ...ms) => {
            const names = [...(factored ? ['vr', 'vc'] : ['v']), ...(attrs.beta1 > 0 ? ['m'] : [])];
            const r = adafactorUpdate(p, g, Object.fromEntries(names.map((n, i) => [n, ms[i]])), attrs);
            return [r.param, ...names.map((n) => r[n as 'vr'] as tf.Tensor)];
          }, 1e-6);
      }
    });
  }

  test('adafactorUpdate refuses moments of the wrong shape', async () => {
    await initEngine(NATIVE);
    tf.tidy(() => {
      const p = tf.zeros([3, 4]);
      assert.throws(() => adafactorUpdate(p, p, { vr: tf.zeros([4]), vc: tf.zeros([4]) }, settings[0].attrs),
        /moment vr \[4\], expected \[3\] for the parameter \[3,4\]/);
      assert.throws(() => adafactorUpdate(p, p, { vr: tf.zeros([3]), vc: tf.zeros([4]) }, settings[2].attrs), /moment m is missing/);
    });
  });
});

describe('native attention products against their reference kernels', () => {
  test('attentionScores and attentionContext: heads read in place, Tq ≠ Tk, with gradients', async () => {
    const [b, h, tq, tk, dk] = [2, 3, 5, 7, 4];
    await assertGradParity('scores', [randomInput([b, tq, h * dk], 30), randomInput([b, tk, h * dk], 31)],
      (q, k) => attentionScores(q, k, h));
    await assertGradParity('context', [randomInput([b, h, tq, tk], 32, 0, 1), randomInput([b, tk, h * dk], 33)],
      (p, v) => attentionContext(p, v));
    await assertGradParity('scores → softmax → context', [randomInput([b, tq, h * dk], 34), randomInput([b, tk, h * dk], 35),
      randomInput([b, tk, h * dk], 36)], (q, k, v) => attentionContext(attentionSoftmax(attentionScores(q, k, h), { causal: false }), v));
  });

  test('on native, the products equal split-heads matmuls at training size, one head and eight', async () => {
    await initEngine(NATIVE);
    for (const [h, dk] of [[1, 16], [8, 64]]) {
      const [b, tq, tk] = [4, 128, 96];
      tf.tidy(() => {
        const split = (x: tf.Tensor, t: number): tf.Tensor => x.reshape([b, t, h, dk]).transpose([0, 2, 1, 3]);
        const q = tf.randomNormal([b, tq, h * dk], 0, 1, 'float32', 1);
        const k = tf.randomNormal([b, tk, h * dk], 0, 1, 'float32', 2);
        const p = tf.softmax(tf.randomNormal([b, h, tq, tk], 0, 1, 'float32', 3));
        const scoresGap = tf.max(tf.abs(tf.sub(attentionScores(q, k, h), tf.matMul(split(q, tq), split(k, tk), false, true))));
        const merged = tf.matMul(p, split(k, tk)).transpose([0, 2, 1, 3]).reshape([b, tq, h * dk]);
        const contextGap = tf.max(tf.abs(tf.sub(attentionContext(p, k), merged)));
        assert.ok(scoresGap.dataSync()[0] < 1e-4 && contextGap.dataSync()[0] < 1e-5, `${h} heads`);
      });
    }
  });
});

describe('fused attention', () => {
  // The three attentions of T5: encoder self (bias, padding), decoder self (bias, causal), cross (padding, Tq ≠ Tk).
  const cases = [
    { name: 'encoder self-attention', b: 3, h: 2, tq: 7, tk: 7, dk: 5, bias: true, lengths: [7, 4, 1], causal: false },
    { name: 'decoder self-attention', b: 2, h: 3, tq: 6, tk: 6, dk: 4, bias: true, lengths: null, causal: true },
    { name: 'cross-attention', b: 5, h: 2, tq: 3, tk: 9, dk: 8, bias: false, lengths: [9, 2, 5, 0, 9], causal: false },
  ];
  for (const c of cases) {
    test(`${c.name}: the native kernel against the reference, with gradients for q, k, v and the bias`, async () => {
      const inputs = [randomInput([c.b, c.tq, c.h * c.dk], 40), randomInput([c.b, c.tk, c.h * c.dk], 41), randomInput([c.b, c.tk, c.h * c.dk], 42)];
      if (c.bias) inputs.push(randomInput([c.h, c.tq, c.tk], 43));
      await assertGradParity(c.name, inputs, (q, k, v, bias) => attention(q, k, v, c.h,
        { bias: bias ?? null, keyMask: c.lengths ? keyMask(c.lengths, c.tk) : null, causal: c.causal }), 2e-5);
    });
  }

  test('on native it computes the bits of the three ops it replaces, forward and backward, in fp32 and bf16', async () => {
    await initEngine(NATIVE);
    const [b, h, tq, tk, dk] = [6, 4, 24, 40, 16];
    const q = tf.tensor(randomInput([b, tq, h * dk], 50).values, [b, tq, h * dk]);
    const k = tf.tensor(randomInput([b, tk, h * dk], 51).values, [b, tk, h * dk]);
    const v = tf.tensor(randomInput([b, tk, h * dk], 52).values, [b, tk, h * dk]);
    const bias = tf.tensor(randomInput([h, tq, tk], 53).values, [h, tq, tk]);
    const mask = keyMask([40, 30, 1, 0, 40, 17], tk);
    const w = tf.tensor(randomInput([b, tq, h * dk], 54, 0.5, 1.5).values, [b, tq, h * dk]);
    const bits = (t: tf.Tensor): Uint32Array => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
    const run = (fused: boolean): Uint32Array[] => scoped(() => {
      const f = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, bi: tf.Tensor): tf.Tensor => {
        const opts = { bias: bi, keyMask: mask, causal: false };
        const out = fused ? attention(qi, ki, vi, h, opts) : attentionContext(attentionSoftmax(attentionScores(qi, ki, h), opts), vi);
        return tf.sum(tf.mul(out, w));
      };
      const { value, grads } = tf.valueAndGrads(f)([q, k, v, bias]);
      return [value, ...grads].map(bits);
    });
    for (const precision of nativeAddon()?.info().bf16 ? ['fp32', 'bf16'] as const : ['fp32'] as const) {
      const [fused, unfused] = withPrecision(precision, () => [run(true), run(false)]);
      for (let i = 0; i < 5; i++) assert.deepEqual(fused[i], unfused[i], `${precision}: output ${i}`);
    }
    tf.dispose([q, k, v, bias, mask, w]);
  });
});
