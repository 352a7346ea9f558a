import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/util/rng';
import { corruptSpans, noiseCounts, randomSpansNoiseMask, roundHalfEven, spanCorruptionLengths, T5_SPAN_CORRUPTION }
  from '../../src/data/span_corruption';

const V = 32100;
const sentinel = (i: number) => V - 1 - i;
const EOS = 1;
const isSentinel = (id: number) => id > V - 1 - 100;

/** Runs of equal mask values: [value, length][]. */
function runs(mask: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (const v of mask) {
    if (out.length && out[out.length - 1][0] === v) out[out.length - 1][1]++;
    else out.push([v, 1]);
  }
  return out;
}

/** Rebuilds the raw tokens from an input and its target. */
function reconstruct(inputs: number[], targets: number[]): number[] {
  const filled = new Map<number, number[]>();
  let current: number[] = [];
  for (const id of targets.slice(0, -1)) {
    if (isSentinel(id)) filled.set(id, (current = []));
    else current.push(id);
  }
  return inputs.slice(0, -1).flatMap((id) => (isSentinel(id) ? filled.get(id)! : [id]));
}

describe('span corruption lengths (T5 random_spans_helper)', () => {
  test('512 inputs ← 568 raw tokens, with 114 targets', () => {
    assert.deepEqual(spanCorruptionLengths(512), { rawLength: 568, inputLength: 512, targetLength: 114, noiseSpans: 28 });
  });

  test('other input lengths', () => {
    const derived = (n: number) => { const l = spanCorruptionLengths(n); return [l.rawLength, l.inputLength, l.targetLength]; };
    assert.deepEqual(derived(1024), [1137, 1024, 229]);
    assert.deepEqual(derived(256), [284, 256, 58]);
    assert.deepEqual(derived(128), [141, 128, 29]);
    assert.deepEqual(derived(64), [70, 64, 14]);
    assert.throws(() => spanCorruptionLengths(8), /too short/);
  });

  test('noise density 0.5 keeps targets from outgrowing inputs, as T5', () => {
    const l = spanCorruptionLengths(512, { noiseDensity: 0.5, meanNoiseSpanLength: 3 });
    assert.ok(l.targetLength <= 512 && l.inputLength <= 512);
  });

  test('counts round half to even in float32, as TensorFlow', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, 2.4999, 2.5001].map(roundHalfEven), [0, 2, 2, 4, 0, 2, 3]);
    assert.deepEqual(noiseCounts(568, T5_SPAN_CORRUPTION), { noiseTokens: 85, noiseSpans: 28 });
    // 190 · 0.15 is 28.5 in float64 (Python would round to 28) but 28.500002 in float32: TensorFlow gives 29.
    assert.equal(noiseCounts(190, T5_SPAN_CORRUPTION).noiseTokens, 29);
    // Degenerate lengths still get one noise token, one non-noise token and one span.
    assert.deepEqual(noiseCounts(1, T5_SPAN_CORRUPTION), { noiseTokens: 1, noiseSpans: 1 });
    assert.deepEqual(noiseCounts(4, T5_SPAN_CORRUPTION), { noiseTokens: 1, noiseSpans: 1 });
  });
});

describe('random spans noise mask', () => {
  test('has exactly the derived noise tokens and spans, alternating from non-noise and ending in noise', () => {
    for (let seed = 0; seed < 200; seed++) {
      const mask = randomSpansNoiseMask(568, T5_SPAN_CORRUPTION, Rng.fromSeed(seed));
      assert.equal(mask.length, 568);
      assert.equal(mask.reduce((a, b) => a + b, 0), 85);
      const r = runs(mask);
      assert.equal(r.length, 56);
      assert.equal(r[0][0], 0);
      assert.equal(r[r.length - 1][0], 1);
    }
  });

  test('noise spans average the mean span length (3) and vary; placement varies with the seed', () => {
    const lengths: number[] = [];
    const positions = new Set<string>();
    for (let seed = 0; seed < 500; seed++) {
      const mask = randomSpansNoiseMask(200, T5_SPAN_CORRUPTION, Rng.fromSeed(seed));
      lengths.push(...runs(mask).filter(([v]) => v === 1).map(([, n]) => n));
      positions.add(mask.join(''));
    }
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    assert.ok(Math.abs(mean - 3) < 0.05, `mean noise span ${mean}`);
    assert.ok(Math.min(...lengths) === 1 && Math.max(...lengths) >= 8, 'span lengths are spread out');
    assert.equal(positions.size, 500);
    assert.ok(Math.abs(lengths.length / 500 - 10) < 1e-9, '30 noise tokens in 10 spans');
  });

  test('other densities and span lengths are honoured', () => {
    const options = { noiseDensity: 0.3, meanNoiseSpanLength: 5 };
    const mask = randomSpansNoiseMask(1000, options, Rng.fromSeed(1));
    assert.equal(mask.reduce((a, b) => a + b, 0), 300);
    assert.equal(runs(mask).filter(([v]) => v === 1).length, 60);
  });

  test('is deterministic per generator state', () => {
    assert.deepEqual(randomSpansNoiseMask(568, T5_SPAN_CORRUPTION, Rng.fromSeed(9, 4)), randomSpansNoiseMask(568, T5_SPAN_CORRUPTION, Rng.fromSeed(9, 4)));
  });
});

describe('corruptSpans', () => {
  const raw = Array.from({ length: 568 }, (_, i) => 100 + i);

  test('lengths are exactly as derived: 568 raw tokens → 512 inputs, 114 targets', () => {
    for (let seed = 0; seed < 50; seed++) {
      const { inputs, targets } = corruptSpans(raw, randomSpansNoiseMask(568, T5_SPAN_CORRUPTION, Rng.fromSeed(seed)), sentinel, EOS);
      assert.equal(inputs.length, 512);
      assert.equal(targets.length, 114);
    }
  });

  test('sentinels appear in order <extra_id_0>, <extra_id_1>, … (ids V−1, V−2, …) in inputs and targets; both end with EOS', () => {
    const { inputs, targets } = corruptSpans(raw, randomSpansNoiseMask(568, T5_SPAN_CORRUPTION, Rng.fromSeed(3)), sentinel, EOS);
    const expected = Array.from({ length: 28 }, (_, i) => V - 1 - i);
    assert.deepEqual(inputs.filter(isSentinel), expected);
    assert.deepEqual(targets.filter(isSentinel), expected);
    assert.equal(targets[0], V - 1, 'the target starts with <extra_id_0>');
    assert.equal(inputs[inputs.length - 1], EOS);
    assert.equal(targets[targets.length - 1], EOS);
  });

  test('inputs and targets together give back the original tokens', () => {
    for (let seed = 0; seed < 50; seed++) {
      const length = 20 + seed * 7;
      const tokens = raw.slice(0, length);
      const { inputs, targets } = corruptSpans(tokens, randomSpansNoiseMask(length, T5_SPAN_CORRUPTION, Rng.fromSeed(seed)), sentinel, EOS);
      assert.deepEqual(reconstruct(inputs, targets), tokens);
    }
  });

  test('a worked example', () => {
    const mask = Uint8Array.from([0, 0, 1, 1, 0, 1, 0, 0, 1]);
    assert.deepEqual(corruptSpans([10, 11, 12, 13, 14, 15, 16, 17, 18], mask, sentinel, EOS), {
      inputs: [10, 11, V - 1, 14, V - 2, 16, 17, V - 3, EOS],
      targets: [V - 1, 12, 13, V - 2, 15, V - 3, 18, EOS],
    });
  });
});
