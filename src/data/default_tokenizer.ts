// Tokenizers trained once and kept in the cache: the default one (the built-in corpus, 8192 ids,
// 100 sentinels) is a single call. Training is deterministic, so the cache only saves time — a
// machine with an empty cache trains the identical tokenizer.json (about 30 s and 1.5 GB for the default).
import * as fs from 'node:fs';
import { cacheFile } from '../io/cache';
import { defaultCorpus } from './corpus_default';
import { loadTokenizer, trainingKey, trainTokenizer, type T5Tokenizer, type TokenizerTrainingOptions } from './tokenizer';

export interface CachedTokenizerOptions extends TokenizerTrainingOptions {
  /** Default: $DEEPFUSION_CACHE or ~/.cache/deepfusion. */
  cacheDir?: string;
}

/** The tokenizer `trainTokenizer(options)` gives, from the cache when it was trained before. */
export function cachedTokenizer(options: CachedTokenizerOptions): T5Tokenizer {
  const file = cacheFile('tokenizers', trainingKey(options), '.json', options.cacheDir);
  if (fs.existsSync(file)) return loadTokenizer(file);
  const tokenizer = trainTokenizer(options);
  tokenizer.save(file);
  return tokenizer;
}

/** The default tokenizer: trained on the built-in corpus with the default vocabulary size and sentinels. */
export function defaultTokenizer(options: Omit<CachedTokenizerOptions, 'corpus'> = {}): T5Tokenizer {
  return cachedTokenizer({ ...options, corpus: defaultCorpus() });
}
