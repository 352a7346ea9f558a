// T5 tokenizers as Hugging Face `tokenizer.json` files: a SentencePiece-style unigram model with
// T5's special ids — <pad> 0, </s> 1, <unk> 2, and the sentinels <extra_id_0>, <extra_id_1>, … at
// the top of the vocabulary (<extra_id_0> = vocabSize − 1, counting down). The `tokenizers`
// package (Hugging Face's Rust implementation) loads, encodes and decodes; training is
// unigram_trainer.ts. A real T5's tokenizer.json loads unchanged: its post-processor appends </s>,
// but `encode` never adds special tokens — callers that want EOS append `eosId` themselves.
import { Tokenizer } from 'tokenizers';
import { FileError, UserError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { readTextFile } from '../io/read_text';
import { sha256Hex } from '../util/hash';
import { countWords, splitDocuments, type Corpus } from './corpus';
import { HF_NORMALIZER } from './normalize';
import { trainUnigram, UNIGRAM_TRAINER_VERSION, type UnigramProgress } from './unigram_trainer';

export const PAD_TOKEN = '<pad>';
export const EOS_TOKEN = '</s>';
export const UNK_TOKEN = '<unk>';
export const sentinelToken = (i: number): string => `<extra_id_${i}>`;

export const DEFAULT_VOCAB_SIZE = 8192;
export const DEFAULT_SENTINELS = 100;

/** SentencePiece's word-boundary mark: a word is "▁" + its text. */
const METASPACE = '\u2581';

export interface T5Tokenizer {
  /** Ids are 0 … vocabSize − 1 (a model's config may pad its embedding beyond this). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** How many <extra_id_i> tokens the vocabulary holds. */
  readonly sentinelCount: number;
  /** SHA-256 of the tokenizer.json text: names this tokenizer in cache keys. */
  readonly fingerprint: string;
  /** Id of <extra_id_i>: vocabSize − 1 − i. */
  sentinelId(i: number): number;
  /**
   * Token ids of the normalised text, without EOS. Text spelling a special token ("</s>",
   * "<extra_id_0>") becomes that token, as in Hugging Face; the built-in corpus contains none.
   */
  encode(text: string): Promise<number[]>;
  /** `encode` for many texts at once (parallel inside the native library). */
  encodeBatch(texts: string[]): Promise<number[][]>;
  /** Text of the ids; special tokens (pad, EOS, unk, sentinels) are skipped unless asked for. */
  decode(ids: ArrayLike<number>, options?: { keepSpecialTokens?: boolean }): Promise<string>;
  idToToken(id: number): string | undefined;
  /** The tokenizer.json text. */
  toJSON(): string;
  /** Writes tokenizer.json atomically. */
  save(file: string): void;
}

/** Splits normalised text into words exactly as the Metaspace pre-tokenizer does. */
export function metaspaceWords(normalized: string): string[] {
  if (normalized.length === 0) return [];
  // The pre-tokenizer also splits before a "▁" already in the text; most text has none.
  if (!normalized.includes(METASPACE)) return normalized.split(' ').map((w) => METASPACE + w);
  return (METASPACE + normalized.replaceAll(' ', METASPACE)).split(/(?=\u2581)/);
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** The tokenizer.json of a T5 unigram tokenizer with `pieces` between the special tokens and the sentinels. */
export function t5TokenizerJson(pieces: [string, number][], sentinels: number): string {
  const specials = [PAD_TOKEN, EOS_TOKEN, UNK_TOKEN];
  const vocabSize = specials.length + pieces.length + sentinels;
  const sentinelIds = Array.from({ length: sentinels }, (_, k) => vocabSize - sentinels + k);
  const metaspace = { type: 'Metaspace', replacement: METASPACE, prepend_scheme: 'always', split: true };
  const sequence = (id: string) => ({ Sequence: { id, type_id: 0 } });
  const eos = { SpecialToken: { id: EOS_TOKEN, type_id: 0 } };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      ...specials.map((t, id) => addedToken(id, t)),
      ...sentinelIds.map((id) => addedToken(id, sentinelToken(vocabSize - 1 - id))),
    ],
    normalizer: HF_NORMALIZER,
    pre_tokenizer: metaspace,
    // As T5's own tokenizer.json, so the file behaves like a T5 tokenizer in other tools too.
    post_processor: {
      type: 'TemplateProcessing',
      single: [sequence('A'), eos],
      pair: [sequence('A'), eos, sequence('B'), eos],
      special_tokens: { [EOS_TOKEN]: { id: EOS_TOKEN, ids: [1], tokens: [EOS_TOKEN] } },
    },
    decoder: metaspace,
    model: {
      type: 'Unigram',
      unk_id: 2,
      vocab: [
        ...specials.map((t) => [t, 0]),
        ...pieces,
        ...sentinelIds.map((id) => [sentinelToken(vocabSize - 1 - id), 0]),
      ],
      byte_fallback: false,
    },
  };
  return JSON.stringify(json);
}

/**
 * A T5Tokenizer over tokenizer.json text. Checks T5's conventions and names `source` and the fix
 * when they do not hold.
 */
export function tokenizerFromJson(json: string, source: string): T5Tokenizer {
  let hf: Tokenizer;
  try {
    hf = Tokenizer.fromString(json);
  } catch (err) {
    throw new FileError(source, `is not a Hugging Face tokenizer.json (${(err as Error).message})`,
      'give a tokenizer.json written by Hugging Face tokenizers or by `deepfusion tokenizer train`');
  }
  const vocabSize = hf.getVocabSize(true);
  const fix = 'use a T5 tokenizer (pad 0, EOS 1, unk 2, <extra_id_i> at vocab_size − 1 − i), e.g. one from `deepfusion tokenizer train`';
  const expectId = (token: string, id: number) => {
    const actual = hf.tokenToId(token);
    if (actual !== id) {
      throw new FileError(source, `token "${token}" ${actual === null ? 'is missing' : `has id ${actual}`}; T5 needs id ${id}`, fix);
    }
  };
  expectId(PAD_TOKEN, 0);
  expectId(EOS_TOKEN, 1);
  expectId(UNK_TOKEN, 2);
  let sentinelCount = 0;
  while (hf.tokenToId(sentinelToken(sentinelCount)) !== null) {
    expectId(sentinelToken(sentinelCount), vocabSize - 1 - sentinelCount);
    sentinelCount++;
  }
  const fingerprint = sha256Hex(json);
  const idsOf = (e: { getIds(): number[] }) => e.getIds();
  return {
    vocabSize,
    padId: 0,
    eosId: 1,
    unkId: 2,
    sentinelCount,
    fingerprint,
    sentinelId(i: number): number {
      if (!Number.isInteger(i) || i < 0 || i >= sentinelCount) {
        throw new UserError(`${source}: sentinel <extra_id_${i}> does not exist; the tokenizer has ${sentinelCount} sentinels`);
      }
      return vocabSize - 1 - i;
    },
    encode: async (text) => idsOf(await hf.encode(text, null, { addSpecialTokens: false })),
    encodeBatch: async (texts) => (await hf.encodeBatch(texts, { addSpecialTokens: false })).map(idsOf),
    decode: (ids, options = {}) => hf.decode(Array.from(ids), !options.keepSpecialTokens),
    idToToken: (id) => hf.idToToken(id) ?? undefined,
    toJSON: () => json,
    save: (file) => writeFileAtomic(file, json),
  };
}

export function loadTokenizer(file: string): T5Tokenizer {
  const json = readTextFile(file, 'give the path of a tokenizer.json (train one with `deepfusion tokenizer train`)');
  return tokenizerFromJson(json, file);
}

export interface TokenizerTrainingOptions {
  corpus: Corpus;
  /** Total ids including <pad>, </s>, <unk> and the sentinels (default 8192). */
  vocabSize?: number;
  /** How many <extra_id_i> sentinels (default 100, as T5). */
  sentinels?: number;
  onProgress?: (p: UnigramProgress) => void;
}

/** Everything that decides the result of training, for cache keys. */
export function trainingKey(options: TokenizerTrainingOptions): string {
  return sha256Hex('t5-unigram-tokenizer', UNIGRAM_TRAINER_VERSION, options.corpus.fingerprint,
    String(options.vocabSize ?? DEFAULT_VOCAB_SIZE), String(options.sentinels ?? DEFAULT_SENTINELS));
}

/**
 * Trains a T5 unigram tokenizer on the corpus's training split (the validation split stays unseen,
 * so tokens per word measured on it are honest). Deterministic: the same corpus and options give
 * the same tokenizer.json, byte for byte.
 */
export function trainTokenizer(options: TokenizerTrainingOptions): T5Tokenizer {
  const vocabSize = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  const sentinels = options.sentinels ?? DEFAULT_SENTINELS;
  const pieceCount = vocabSize - 3 - sentinels;
  if (!Number.isInteger(sentinels) || sentinels < 0) {
    throw new UserError(`tokenizer training: sentinels must be a whole number ≥ 0, got ${sentinels}`);
  }
  if (!Number.isInteger(vocabSize) || pieceCount < 1) {
    throw new UserError(`tokenizer training: vocab size ${vocabSize} leaves no room for pieces besides 3 special ` +
      `tokens and ${sentinels} sentinels; use a vocab size above ${3 + sentinels}`);
  }
  const words = new Map<string, number>();
  for (const d of splitDocuments(options.corpus.documents()).train) {
    for (const w of metaspaceWords(d.text)) words.set(w, (words.get(w) ?? 0) + 1);
  }
  let pieces: [string, number][];
  try {
    const exclude = new Set([PAD_TOKEN, EOS_TOKEN, UNK_TOKEN, ...Array.from({ length: sentinels }, (_, i) => sentinelToken(i))]);
    pieces = trainUnigram(words, { pieceCount, exclude, onProgress: options.onProgress });
  } catch (err) {
    if (err instanceof RangeError) {
      throw new UserError(`tokenizer training on ${options.corpus.source}: ${err.message}; raise the vocab size`);
    }
    throw err;
  }
  if (pieces.length < pieceCount) {
    throw new UserError(`tokenizer training on ${options.corpus.source}: the corpus supports only ${pieces.length} ` +
      `pieces, not ${pieceCount}; use a vocab size of at most ${3 + sentinels + pieces.length}, or a larger corpus`);
  }
  return tokenizerFromJson(t5TokenizerJson(pieces, sentinels), `tokenizer trained on ${options.corpus.source}`);
}

/** Mean tokens per word over the corpus's validation split (how well the vocabulary fits the text). */
export async function tokensPerWord(tokenizer: T5Tokenizer, corpus: Corpus): Promise<number> {
  const validation = splitDocuments(corpus.documents()).validation;
  const texts = validation.map((d) => d.text);
  const tokens = (await tokenizer.encodeBatch(texts)).reduce((n, ids) => n + ids.length, 0);
  const words = texts.reduce((n, t) => n + countWords(t), 0);
  return words === 0 ? NaN : tokens / words;
}
