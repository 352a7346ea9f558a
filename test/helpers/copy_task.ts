// A synthetic training stream for loop tests: copy the input, a run of consecutive token ids
// from a random start (variable length, padded). T5's cross-attention has no position bias, so
// copying arbitrary sequences is slow to learn; runs make most target tokens predictable from
// the previous one, and a tiny T5 learns the task in a few dozen steps. Deterministic from
// (seed, index).
import type { BatchStream, DataPosition, ExampleBatch } from '../../src/data/types';
import type { TrainData } from '../../src/data/types';

export interface CopyTask {
  vocab: number;
  batchSize: number;
  /** Longest input; rows are between half of it and all of it long. */
  length: number;
  seed: number;
}

const PAD = 0;
const EOS = 1;
const IGNORE = -100;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Batch number `index` of the task. */
export function copyBatch(task: CopyTask, index: number): ExampleBatch {
  const { batchSize: B, length: L, vocab } = task;
  const T = L + 1;
  const random = rng(task.seed * 7919 + index * 104729 + 1);
  const b: ExampleBatch = {
    batchSize: B, inputLength: L, targetLength: T,
    inputIds: new Int32Array(B * L), attentionMask: new Float32Array(B * L),
    decoderInputIds: new Int32Array(B * T), labels: new Int32Array(B * T).fill(IGNORE),
  };
  for (let r = 0; r < B; r++) {
    const n = Math.ceil(L / 2) + Math.floor(random() * (L - Math.ceil(L / 2) + 1));
    const start = Math.floor(random() * (vocab - 2));
    const tokens = Array.from({ length: n }, (_, i) => 2 + ((start + i) % (vocab - 2)));
    tokens.forEach((t, i) => { b.inputIds[r * L + i] = t; b.attentionMask[r * L + i] = 1; });
    [...tokens, EOS].forEach((t, i) => { b.labels[r * T + i] = t; });
    for (let i = 0; i < T; i++) {
      const prev = i === 0 ? PAD : b.labels[r * T + i - 1];
      b.decoderInputIds[r * T + i] = prev === IGNORE ? PAD : prev;
    }
  }
  return b;
}

export function copyStream(task: CopyTask, position?: DataPosition): BatchStream {
  let index = position ? Number(position.index) : 0;
  return {
    next: () => copyBatch(task, index++),
    position: () => ({ index }),
  };
}

export function copyData(task: CopyTask): TrainData {
  return { open: (position) => copyStream(task, position), describe: { task: 'copy', ...task } };
}

/** Validation batches from a seed the training stream does not use. */
export function copyValidation(task: CopyTask, batches: number): ExampleBatch[] {
  return Array.from({ length: batches }, (_, i) => copyBatch({ ...task, seed: task.seed + 1_000_003 }, i));
}
