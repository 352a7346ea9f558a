// T5's pre-training objective, as t5.data computes it (random_spans_noise_mask,
// noise_span_to_unique_sentinel, random_spans_helper):
//   - a raw segment of n tokens gets round(n · density) noise tokens in round(noise / mean) spans;
//   - noise and non-noise tokens are each cut into that many non-empty spans, uniformly at random,
//     and the spans interleave starting with non-noise;
//   - the input keeps the non-noise tokens and puts one sentinel where each noise span was
//     (<extra_id_0>, <extra_id_1>, … in order); the target is each sentinel followed by the tokens it
//     replaced; both end with EOS.
// Counts are computed in float32 with round-half-to-even, as TensorFlow does in the mask. T5's
// length helper computes the same counts in Python float64; the two differ only when n · density
// lands within float32 rounding of a half, and using one function for both here guarantees that a
// raw segment of the derived length always corrupts to exactly the derived input and target lengths.
import type { Rng } from '../util/rng';

export interface SpanCorruptionOptions {
  /** Share of the raw tokens that become noise (T5: 0.15). */
  noiseDensity: number;
  /** Mean length of a noise span (T5: 3). */
  meanNoiseSpanLength: number;
}

export const T5_SPAN_CORRUPTION: SpanCorruptionOptions = { noiseDensity: 0.15, meanNoiseSpanLength: 3 };

/** Rounds half to even, as tf.round and Python's round do. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

const f32 = Math.fround;

/** round(length · density) in float32, before T5's guards against degenerate masks. */
function roundedNoiseTokens(length: number, o: SpanCorruptionOptions): number {
  return roundHalfEven(f32(f32(length) * f32(o.noiseDensity)));
}

/** round(noise tokens / mean span length) in float32. */
function roundedNoiseSpans(noiseTokens: number, o: SpanCorruptionOptions): number {
  return roundHalfEven(f32(f32(noiseTokens) / f32(o.meanNoiseSpanLength)));
}

/**
 * Noise tokens and spans as random_spans_noise_mask computes them: lengths below 2 count as 2,
 * at least one noise and one non-noise token, at least one span.
 */
export function noiseCounts(length: number, o: SpanCorruptionOptions): { noiseTokens: number; noiseSpans: number } {
  const n = Math.max(length, 2);
  const noiseTokens = Math.min(Math.max(roundedNoiseTokens(n, o), 1), n - 1);
  return { noiseTokens, noiseSpans: Math.max(roundedNoiseSpans(noiseTokens, o), 1) };
}

export interface SpanCorruptionLengths {
  /** Raw tokens per example, cut from the token stream. */
  rawLength: number;
  /** Tokens of each corrupted input, EOS included (= the asked input length, or just under). */
  inputLength: number;
  /** Tokens of each target, EOS included. */
  targetLength: number;
  /** Noise spans per example: sentinels needed. */
  noiseSpans: number;
}

/**
 * T5's random_spans_helper: the longest raw segment whose corrupted input (non-noise tokens, one
 * sentinel per span, EOS) fits in `inputLength`, and the target length it implies. 512 → 568 raw
 * tokens, 114 targets.
 */
export function spanCorruptionLengths(inputLength: number, o: SpanCorruptionOptions = T5_SPAN_CORRUPTION): SpanCorruptionLengths {
  const lengthsFor = (raw: number) => {
    const noiseTokens = roundedNoiseTokens(raw, o);
    const noiseSpans = roundedNoiseSpans(noiseTokens, o);
    return { inputs: raw - noiseTokens + noiseSpans + 1, targets: noiseTokens + noiseSpans + 1, noiseSpans };
  };
  let raw = inputLength - 1;
  while (lengthsFor(raw + 1).inputs <= inputLength) raw++;
  let { inputs, targets, noiseSpans } = lengthsFor(raw);
  if (noiseSpans < 1) {
    throw new RangeError(`input length ${inputLength} is too short for span corruption with noise density ` +
      `${o.noiseDensity} and mean span ${o.meanNoiseSpanLength}: no noise span fits`);
  }
  // As T5: with density 0.5, trim one token rather than let targets outgrow the (round) input length.
  if (o.noiseDensity === 0.5 && targets > inputs) {
    raw--;
    targets--;
  }
  return { rawLength: raw, inputLength: inputs, targetLength: targets, noiseSpans };
}

/** Lengths of `segments` non-empty segments that add up to `items`, uniformly at random. */
function randomSegmentation(items: number, segments: number, rng: Rng): Int32Array {
  const startsSegment = new Uint8Array(items - 1);
  startsSegment.fill(1, 0, segments - 1);
  rng.shuffle(startsSegment);
  const lengths = new Int32Array(segments);
  let segment = 0;
  lengths[0] = 1;
  for (let i = 0; i < items - 1; i++) {
    if (startsSegment[i]) segment++;
    lengths[segment]++;
  }
  return lengths;
}

/** 1 where a token is noise: random spans, alternating, starting with non-noise. */
export function randomSpansNoiseMask(length: number, o: SpanCorruptionOptions, rng: Rng): Uint8Array {
  const n = Math.max(length, 2);
  const { noiseTokens, noiseSpans } = noiseCounts(length, o);
  if (noiseSpans > noiseTokens || noiseSpans > n - noiseTokens) {
    throw new RangeError(`span corruption: ${length} tokens cannot hold ${noiseSpans} noise spans ` +
      `(noise density ${o.noiseDensity}, mean span ${o.meanNoiseSpanLength})`);
  }
  const noise = randomSegmentation(noiseTokens, noiseSpans, rng);
  const nonNoise = randomSegmentation(n - noiseTokens, noiseSpans, rng);
  const mask = new Uint8Array(n);
  let at = 0;
  for (let s = 0; s < noiseSpans; s++) {
    at += nonNoise[s];
    mask.fill(1, at, at + noise[s]);
    at += noise[s];
  }
  return mask.subarray(0, length);
}

/** Replaces each run of tokens whose mask equals `spanValue` by one sentinel (the k-th run by sentinel k), then appends EOS. */
function spansToSentinels(tokens: ArrayLike<number>, mask: Uint8Array, spanValue: number,
  sentinelId: (i: number) => number, eosId: number): number[] {
  const out: number[] = [];
  let sentinels = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (mask[i] !== spanValue) out.push(tokens[i]);
    else if (i === 0 || mask[i - 1] !== spanValue) out.push(sentinelId(sentinels++));
  }
  out.push(eosId);
  return out;
}

export interface CorruptedExample {
  /** Non-noise tokens with one sentinel per noise span, then EOS. */
  inputs: number[];
  /** Each sentinel followed by the noise tokens it stands for, then EOS. */
  targets: number[];
}

/** Applies a noise mask to raw tokens (T5's noise_span_to_unique_sentinel on inputs and targets). */
export function corruptSpans(tokens: ArrayLike<number>, mask: Uint8Array, sentinelId: (i: number) => number,
  eosId: number): CorruptedExample {
  return {
    inputs: spansToSentinels(tokens, mask, 1, sentinelId, eosId),
    targets: spansToSentinels(tokens, mask, 0, sentinelId, eosId),
  };
}
