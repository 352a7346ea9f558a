// A corpus turned into token ids, per split: each document's ids followed by EOS, documents in
// corpus order. Tokenizing the built-in corpus takes seconds, so the result is cached on disk
// under a key made of the corpus and tokenizer fingerprints; a cache hit reads one file and never
// parses the corpus text.
import * as fs from 'node:fs';
import { cacheFile } from '../io/cache';
import { writeFileAtomic } from '../io/atomic';
import { sha256Hex } from '../util/hash';
import { splitDocuments, type Corpus, type CorpusDocument, type Split } from './corpus';
import type { T5Tokenizer } from './tokenizer';

export interface TokenizedSplit {
  /** Document d is tokens[starts[d] … starts[d+1]), its last token EOS. */
  starts: Uint32Array;
  tokens: Uint16Array | Uint32Array;
}

export type TokenizedCorpus = Record<Split, TokenizedSplit>;

export interface TokenizeOptions {
  /** Default: $DEEPFUSION_CACHE or ~/.cache/deepfusion. */
  cacheDir?: string;
  onProgress?: (p: { split: Split; documents: number; of: number }) => void;
}

const MAGIC = 'DFTOK1\n';
/** Bump when the file layout or what goes into the token stream changes. */
const FORMAT_VERSION = '1';
const DOCUMENTS_PER_CALL = 32;
const SPLITS: Split[] = ['train', 'validation'];

export function tokenizedCorpusKey(corpus: Corpus, tokenizer: T5Tokenizer): string {
  return sha256Hex('tokenized-corpus', FORMAT_VERSION, corpus.fingerprint, tokenizer.fingerprint);
}

async function tokenizeSplit(documents: CorpusDocument[], tokenizer: T5Tokenizer, split: Split,
  onProgress: TokenizeOptions['onProgress']): Promise<TokenizedSplit> {
  const pieces: number[][] = [];
  for (let i = 0; i < documents.length; i += DOCUMENTS_PER_CALL) {
    const batch = documents.slice(i, i + DOCUMENTS_PER_CALL).map((d) => d.text);
    for (const ids of await tokenizer.encodeBatch(batch)) pieces.push(ids);
    onProgress?.({ split, documents: Math.min(i + DOCUMENTS_PER_CALL, documents.length), of: documents.length });
  }
  const starts = new Uint32Array(pieces.length + 1);
  pieces.forEach((ids, d) => { starts[d + 1] = starts[d] + ids.length + 1; });
  const tokens = tokenizer.vocabSize <= 65536 ? new Uint16Array(starts[pieces.length]) : new Uint32Array(starts[pieces.length]);
  pieces.forEach((ids, d) => {
    tokens.set(ids, starts[d]);
    tokens[starts[d + 1] - 1] = tokenizer.eosId;
  });
  return { starts, tokens };
}

/** Layout: magic, u32 header length, JSON header, then per split its starts and tokens, 4-byte aligned. */
function serialize(corpus: TokenizedCorpus, key: string): Buffer {
  const header = JSON.stringify({
    key,
    splits: SPLITS.map((s) => ({ split: s, documents: corpus[s].starts.length - 1, tokenBytes: corpus[s].tokens.BYTES_PER_ELEMENT })),
  });
  const parts: Buffer[] = [Buffer.from(MAGIC, 'latin1')];
  const length = Buffer.alloc(4);
  length.writeUInt32LE(Buffer.byteLength(header));
  parts.push(length, Buffer.from(header));
  let size = parts.reduce((n, p) => n + p.length, 0);
  const align = () => {
    const pad = (4 - (size % 4)) % 4;
    parts.push(Buffer.alloc(pad));
    size += pad;
  };
  for (const s of SPLITS) {
    for (const array of [corpus[s].starts, corpus[s].tokens]) {
      align();
      parts.push(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
      size += array.byteLength;
    }
  }
  return Buffer.concat(parts);
}

/** The cached corpus, or undefined if the file is missing or not a complete entry for `key`. */
function deserialize(bytes: Buffer, key: string): TokenizedCorpus | undefined {
  if (bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4;
  const header = JSON.parse(bytes.toString('utf8', at, at + headerLength)) as {
    key: string; splits: { split: Split; documents: number; tokenBytes: number }[];
  };
  if (header.key !== key) return undefined;
  at += headerLength;
  // Copies, so the arrays are aligned whatever the Buffer's offset.
  const take = (bytesPerElement: number, count: number) => {
    at += (4 - (at % 4)) % 4;
    const slice = bytes.subarray(at, at + bytesPerElement * count);
    at += bytesPerElement * count;
    const copy = new Uint8Array(slice).buffer;
    return bytesPerElement === 2 ? new Uint16Array(copy) : new Uint32Array(copy);
  };
  const result = {} as TokenizedCorpus;
  for (const { split, documents, tokenBytes } of header.splits) {
    const starts = take(4, documents + 1) as Uint32Array;
    result[split] = { starts, tokens: take(tokenBytes, starts[documents]) };
  }
  return at === bytes.length ? result : undefined;
}

/** Both splits of the corpus as tokens, from the cache when possible. */
export async function tokenizeCorpus(corpus: Corpus, tokenizer: T5Tokenizer, options: TokenizeOptions = {}): Promise<TokenizedCorpus> {
  const key = tokenizedCorpusKey(corpus, tokenizer);
  const file = cacheFile('tokenized', key, '.bin', options.cacheDir);
  if (fs.existsSync(file)) {
    let cached: TokenizedCorpus | undefined;
    try {
      cached = deserialize(fs.readFileSync(file), key);
    } catch {
      cached = undefined; // a damaged entry is rebuilt and replaced below
    }
    if (cached) return cached;
  }
  const split = splitDocuments(corpus.documents());
  const result = {} as TokenizedCorpus;
  for (const s of SPLITS) result[s] = await tokenizeSplit(split[s], tokenizer, s, options.onProgress);
  writeFileAtomic(file, serialize(result, key));
  return result;
}
