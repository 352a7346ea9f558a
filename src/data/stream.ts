// Packed span-corruption batches from a corpus, as T5 pre-training feeds them: documents are
// tokenized with EOS after each and concatenated; the stream is cut into raw segments of the
// length T5's helper derives from the input length (568 for 512), and each segment is corrupted
// into one example.
//
// Training: the token stream is an endless sequence of epochs, each the training documents in an
// order shuffled by (seed, epoch); a segment may run from one epoch into the next. Example k is
// raw tokens [k·R, (k+1)·R) of that sequence, corrupted with noise drawn from (seed, k), so the
// position of a stream is just k: reopening at k continues exactly where it stopped.
// Validation: the held-out documents in corpus order, cut the same way, with noise from a fixed
// seed — the same examples for every run and every model.
import { ConfigError, UserError } from '../errors';
import { sha256Hex } from '../util/hash';
import { Rng } from '../util/rng';
import { buildBatch } from './batch';
import type { Corpus } from './corpus';
import { corruptSpans, randomSpansNoiseMask, spanCorruptionLengths, T5_SPAN_CORRUPTION, type CorruptedExample,
  type SpanCorruptionLengths, type SpanCorruptionOptions } from './span_corruption';
import { tokenizeCorpus, tokenizedCorpusKey, type TokenizedSplit, type TokenizeOptions } from './tokenized_corpus';
import type { T5Tokenizer } from './tokenizer';
import type { BatchStream, DataPosition, ExampleBatch } from './types';

export interface StreamOptions {
  corpus: Corpus;
  tokenizer: T5Tokenizer;
  /** Encoder input length (T5: 512); raw segment and target lengths follow from it. */
  inputLength: number;
  batchSize: number;
  /** Default: T5's noise density 0.15, mean span length 3. */
  spanCorruption?: SpanCorruptionOptions;
  cacheDir?: string;
  /** Called while a corpus is tokenized (only on a cache miss). */
  onProgress?: TokenizeOptions['onProgress'];
}

export interface TrainStreamOptions extends StreamOptions {
  seed: number;
  /** From `position()` of an earlier stream with the same corpus, tokenizer, lengths and seed. */
  position?: DataPosition;
}

export interface ValidationOptions extends StreamOptions {
  /** Number of batches. */
  count: number;
}

/** Noise is drawn from Rng.fromSeed(seed, NOISE, k); document order from Rng.fromSeed(seed, ORDER, epoch). */
const NOISE = 1;
const ORDER = 2;
/** The validation examples' noise seed: fixed, so all runs are evaluated on the same examples. */
export const VALIDATION_SEED = 0;

interface Prepared {
  lengths: SpanCorruptionLengths;
  split: TokenizedSplit;
  /** Identifies the examples a position counts: corpus, tokenizer, lengths, noise settings. */
  dataKey: string;
  corrupt: (raw: Uint32Array, length: number, rng: Rng) => CorruptedExample;
  batch: (examples: CorruptedExample[]) => ExampleBatch;
}

function checkPositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError('data stream options', field, `must be a whole number ≥ 1, got ${value}`, `pass a positive ${field}`);
  }
}

async function prepare(o: StreamOptions, which: 'train' | 'validation'): Promise<Prepared> {
  checkPositiveInteger('inputLength', o.inputLength);
  checkPositiveInteger('batchSize', o.batchSize);
  const sc = o.spanCorruption ?? T5_SPAN_CORRUPTION;
  let lengths: SpanCorruptionLengths;
  try {
    lengths = spanCorruptionLengths(o.inputLength, sc);
  } catch (err) {
    throw new ConfigError('data stream options', 'inputLength', (err as Error).message, 'use an input length of 16 or more');
  }
  if (lengths.noiseSpans > o.tokenizer.sentinelCount) {
    throw new UserError(`span corruption of ${o.inputLength} input tokens needs ${lengths.noiseSpans} sentinels, but the ` +
      `tokenizer has ${o.tokenizer.sentinelCount}; use a tokenizer with more <extra_id_i> tokens or a shorter input length`);
  }
  const tokenized = await tokenizeCorpus(o.corpus, o.tokenizer, { cacheDir: o.cacheDir, onProgress: o.onProgress });
  const split = tokenized[which];
  if (split.tokens.length === 0) {
    const fix = which === 'train' ? 'give a corpus with more documents'
      : 'give a corpus of at least two documents (text files split into documents at blank lines)';
    throw new UserError(`corpus ${o.corpus.source} has no ${which} documents. Fix: ${fix}`);
  }
  const { tokenizer } = o;
  const sentinel = (i: number) => tokenizer.sentinelId(i);
  return {
    lengths,
    split,
    dataKey: sha256Hex('span-corruption-stream', tokenizedCorpusKey(o.corpus, o.tokenizer), String(lengths.rawLength),
      String(sc.noiseDensity), String(sc.meanNoiseSpanLength)),
    corrupt: (raw, length, rng) => corruptSpans(raw.subarray(0, length), randomSpansNoiseMask(length, sc, rng), sentinel, tokenizer.eosId),
    batch: (examples) => buildBatch(examples, lengths.inputLength, lengths.targetLength, tokenizer.padId),
  };
}

/** Documents of a split in one epoch's order, with where each starts in that epoch's token sequence. */
interface EpochLayout {
  order: Int32Array;
  offsets: Float64Array;
}

function layout(split: TokenizedSplit, order: Int32Array): EpochLayout {
  const offsets = new Float64Array(order.length + 1);
  order.forEach((d, i) => { offsets[i + 1] = offsets[i] + split.starts[d + 1] - split.starts[d]; });
  return { order, offsets };
}

/** Copies up to `count` tokens from `offset` of an epoch's sequence into `out` at `at`; returns how many. */
function copyTokens(split: TokenizedSplit, epoch: EpochLayout, offset: number, count: number, out: Uint32Array, at: number): number {
  let lo = 0;
  let hi = epoch.order.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (epoch.offsets[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  let copied = 0;
  for (let i = lo; i < epoch.order.length && copied < count; i++) {
    const d = epoch.order[i];
    const from = split.starts[d] + (i === lo ? offset - epoch.offsets[i] : 0);
    const n = Math.min(split.starts[d + 1] - from, count - copied);
    out.set(split.tokens.subarray(from, from + n), at + copied);
    copied += n;
  }
  return copied;
}

function readPosition(position: DataPosition, dataKey: string, seed: number): number {
  const source = 'data position';
  const fix = 'resume with the corpus, tokenizer, input length, span-corruption settings and seed the position was saved with, or start without a position';
  if (position.data !== dataKey) {
    throw new ConfigError(source, 'data', 'was saved for another corpus, tokenizer, input length or span-corruption setting', fix);
  }
  if (position.seed !== seed) throw new ConfigError(source, 'seed', `is ${String(position.seed)}, but this stream's seed is ${seed}`, fix);
  const examples = position.examples;
  if (typeof examples !== 'number' || !Number.isSafeInteger(examples) || examples < 0) {
    throw new ConfigError(source, 'examples', `must be a whole number ≥ 0, got ${JSON.stringify(examples)}`, fix);
  }
  return examples;
}

/** An endless, exactly resumable stream of training batches (see the top of this file). */
export async function openTrainStream(o: TrainStreamOptions): Promise<BatchStream> {
  if (!Number.isSafeInteger(o.seed)) {
    throw new ConfigError('data stream options', 'seed', `must be a whole number, got ${o.seed}`, 'pass an integer seed');
  }
  const p = await prepare(o, 'train');
  const { split, lengths } = p;
  const documents = split.starts.length - 1;
  const epochTokens = split.starts[documents];
  let examples = o.position ? readPosition(o.position, p.dataKey, o.seed) : 0;
  let cached: { epoch: number; layout: EpochLayout } | undefined;
  const epochLayout = (epoch: number): EpochLayout => {
    if (cached?.epoch !== epoch) {
      const order = Rng.fromSeed(o.seed, ORDER, epoch).shuffle(Int32Array.from({ length: documents }, (_, i) => i));
      cached = { epoch, layout: layout(split, order) };
    }
    return cached.layout;
  };
  const raw = new Uint32Array(lengths.rawLength);
  const example = (k: number): CorruptedExample => {
    const start = k * lengths.rawLength;
    let epoch = Math.floor(start / epochTokens);
    let offset = start - epoch * epochTokens;
    for (let filled = 0; filled < raw.length; epoch++, offset = 0) {
      filled += copyTokens(split, epochLayout(epoch), offset, raw.length - filled, raw, filled);
    }
    return p.corrupt(raw, raw.length, Rng.fromSeed(o.seed, NOISE, k));
  };
  return {
    next(): ExampleBatch {
      const batch = p.batch(Array.from({ length: o.batchSize }, (_, i) => example(examples + i)));
      examples += o.batchSize;
      return batch;
    },
    position(): DataPosition {
      return { data: p.dataKey, seed: o.seed, examples, epoch: Math.floor((examples * lengths.rawLength) / epochTokens) };
    },
  };
}

/** A fixed list of batches from the held-out split: the same for every seed and run. */
export async function validationBatches(o: ValidationOptions): Promise<ExampleBatch[]> {
  checkPositiveInteger('count', o.count);
  const p = await prepare(o, 'validation');
  const { split, lengths } = p;
  const documents = split.starts.length - 1;
  const corpusOrder = layout(split, Int32Array.from({ length: documents }, (_, i) => i));
  const total = split.tokens.length;
  const available = Math.ceil(total / lengths.rawLength);
  const needed = o.count * o.batchSize;
  if (needed > available) {
    throw new UserError(`the validation split of ${o.corpus.source} holds ${total} tokens, ${available} examples of ` +
      `${lengths.rawLength} raw tokens; ${o.count} batches of ${o.batchSize} need ${needed}. Fix: ask for at most ` +
      `${Math.floor(available / o.batchSize)} batches of ${o.batchSize}, or use a larger corpus`);
  }
  const raw = new Uint32Array(lengths.rawLength);
  const batches: ExampleBatch[] = [];
  for (let b = 0; b < o.count; b++) {
    const examples: CorruptedExample[] = [];
    for (let i = 0; i < o.batchSize; i++) {
      const k = b * o.batchSize + i;
      const length = copyTokens(split, corpusOrder, k * lengths.rawLength, lengths.rawLength, raw, 0);
      examples.push(p.corrupt(raw, length, Rng.fromSeed(VALIDATION_SEED, NOISE, k)));
    }
    batches.push(p.batch(examples));
  }
  return batches;
}
