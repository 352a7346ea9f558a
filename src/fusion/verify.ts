// Verification of a fusion: run the sources and the fused model on one batch and compare the
// fused logits with Σ w_i · logits_i (for self-fusion and norm collapse: with the source's logits).
import { scoped } from '../engine/scope';
import { UserError } from '../errors';
import type { Model } from '../io/checkpoint';
import { caseToBatch, type ForwardCase } from '../model/case';
import type { T5Config } from '../model/config';
import { forward, shiftRight } from '../model/t5';
import { Rng } from '../util/rng';

export interface LogitsChange {
  /** max |fused − expected| */
  maxAbs: number;
  /** ‖fused − expected‖ / ‖expected‖ */
  relative: number;
}

/** The decoder logits `[B, T_dec, V]` of a model on a case, as a flat array. */
export function logitsOf(model: Model, c: ForwardCase): Float32Array {
  // Copied out of the backend's buffer, which the scope releases.
  return scoped(() => Float32Array.from(forward(model.config, model.params, caseToBatch(c)).logits.dataSync()));
}

/** Accumulates `weight · logits` into `into` (created on first use). */
export function addWeighted(into: Float64Array | undefined, logits: Float32Array, weight: number): Float64Array {
  const acc = into ?? new Float64Array(logits.length);
  if (acc.length !== logits.length) throw new Error(`addWeighted: ${logits.length} logits, expected ${acc.length}`);
  for (let i = 0; i < logits.length; i++) acc[i] += weight * logits[i];
  return acc;
}

export function logitsChange(actual: ArrayLike<number>, expected: ArrayLike<number>): LogitsChange {
  if (actual.length !== expected.length) throw new Error(`logitsChange: ${actual.length} vs ${expected.length} values`);
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = actual[i] - expected[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
    num += d * d;
    den += expected[i] * expected[i];
  }
  return { maxAbs, relative: den === 0 ? Math.sqrt(num) : Math.sqrt(num / den) };
}

/** Probe batch size when no batch is given: enough tokens to see a change, cheap on any model. */
const PROBE = { rows: 2, inputLength: 16, targetLength: 8 };

/**
 * A reproducible batch of random tokens (ids ≥ 2, clear of pad and EOS in T5 vocabularies), for
 * measuring how much an operation changed a function when the user gave no batch of their own.
 */
export function probeCase(config: T5Config, seed = 0): ForwardCase {
  const lo = Math.min(2, config.vocab_size - 1);
  const row = (key: string, n: number) => {
    const rng = Rng.forKey(seed, key);
    return Array.from({ length: n }, () => lo + rng.integer(config.vocab_size - lo));
  };
  const inputIds = Array.from({ length: PROBE.rows }, (_, r) => row(`probe-input-${r}`, PROBE.inputLength));
  const labels = Array.from({ length: PROBE.rows }, (_, r) => row(`probe-labels-${r}`, PROBE.targetLength));
  return {
    input_ids: inputIds,
    attention_mask: inputIds.map((r) => r.map(() => 1)),
    labels,
    decoder_input_ids: shiftRight(labels, config),
  };
}

/** Verification from text: at most this many non-empty lines, each cut to this many tokens. */
export const TEXT_BATCH = { maxLines: 8, maxTokens: 64 };

/** The lines of a text file that verification tokenizes. */
export function verificationLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(0, TEXT_BATCH.maxLines);
}

/**
 * A batch from tokenized lines: each row of tokens is both the encoder input and the labels
 * (the decoder sees them shifted right); rows are cut to TEXT_BATCH.maxTokens and padded to the
 * longest with pad / −100. `source` names the text file in errors.
 */
export function caseFromTokens(rows: readonly number[][], config: T5Config, source: string): ForwardCase {
  const kept = rows.map((r) => r.slice(0, TEXT_BATCH.maxTokens)).filter((r) => r.length > 0);
  if (kept.length === 0) {
    throw new UserError(`${source}: no line of text yields any token. Fix: give a file with a few lines of text`);
  }
  const width = Math.max(...kept.map((r) => r.length));
  const pad = (r: number[], value: number) => [...r, ...Array.from({ length: width - r.length }, () => value)];
  const labels = kept.map((r) => pad(r, -100));
  return {
    input_ids: kept.map((r) => pad(r, config.pad_token_id)),
    attention_mask: kept.map((r) => pad(r.map(() => 1), 0)),
    labels,
    decoder_input_ids: shiftRight(labels, config),
  };
}
