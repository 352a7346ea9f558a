// Small GLUE directories for tests, in exactly the layout GLUE's download script writes: a folder
// per task with train.tsv and dev.tsv (MNLI: dev_matched.tsv and dev_mismatched.tsv), headers as
// GLUE's files have them (CoLA has none). The rows are written here, a few per file, with labels
// that follow from a word of the text, so a model can learn them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporaryDir } from './tmp';

// Words the small test tokenizer (tokenizer of Moby Dick chapters) keeps whole, so the signal is one token.
const SUBJECTS = ['the man', 'the whale', 'the old ship', 'a little man', 'the sea', 'the ship', 'some man', 'the old whale'];
/** The first four are the positive ones. */
const WORDS = ['good', 'great', 'more', 'up', 'no', 'never', 'down', 'black'];
const OBJECTS = ['all', 'the sea', 'the ship', 'the man', 'the whale', 'some man', 'a little ship', 'the old sea'];

/** Sentence number i: deterministic, varied; any eight in a row hold four positive words. */
export function sentence(i: number): string {
  return `${SUBJECTS[(i >> 3) % 8]} said it was ${WORDS[i % 8]} for ${OBJECTS[(i * 5 + 3) % 8]}.`;
}

export const positive = (i: number): boolean => i % 8 < 4;

const rows = (n: number, offset: number, row: (i: number) => string[]): string[] => Array.from({ length: n }, (_, k) => row(offset + k).join('\t'));

type Writer = (i: number) => string[];

const TASKS: Record<string, { header?: string[]; row: Writer; tests?: string[] }> = {
  CoLA: { row: (i) => [`src${i % 3}`, positive(i) ? '1' : '0', positive(i) ? '' : '*', sentence(i)] },
  'SST-2': { header: ['sentence', 'label'], row: (i) => [sentence(i), positive(i) ? '1' : '0'] },
  MRPC: { header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], row: (i) => [positive(i) ? '1' : '0', String(1000 + i), String(2000 + i), sentence(i), sentence(i + 1)] },
  QQP: { header: ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'], row: (i) => [String(i), String(2 * i), String(2 * i + 1), `Why ${sentence(i)}`, `Why ${sentence(i + 2)}`, positive(i) ? '1' : '0'] },
  'STS-B': {
    header: ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', 'score'],
    row: (i) => [String(i), 'main-news', 'f', '2012', String(i), 'none', 'none', sentence(i), sentence(i + 3), (positive(i) ? 4 : 1).toFixed(3)],
  },
  MNLI: {
    header: ['index', 'promptID', 'pairID', 'genre', 'sentence1_binary_parse', 'sentence2_binary_parse', 'sentence1_parse', 'sentence2_parse', 'sentence1', 'sentence2', 'label1', 'gold_label'],
    row: (i) => [String(i), String(i), `${i}e`, 'fiction', '( x )', '( y )', '(ROOT x)', '(ROOT y)', sentence(i), sentence(i + 1), 'neutral', ['entailment', 'neutral', 'contradiction'][i % 3]],
    tests: ['dev_matched.tsv', 'dev_mismatched.tsv'],
  },
  QNLI: { header: ['index', 'question', 'sentence', 'label'], row: (i) => [String(i), `Who ${sentence(i)}`, sentence(i + 1), positive(i) ? 'entailment' : 'not_entailment'] },
  RTE: { header: ['index', 'sentence1', 'sentence2', 'label'], row: (i) => [String(i), sentence(i), sentence(i + 5), positive(i) ? 'entailment' : 'not_entailment'] },
  WNLI: { header: ['index', 'sentence1', 'sentence2', 'label'], row: (i) => [String(i), sentence(i), sentence(i + 7), positive(i) ? '1' : '0'] },
};

/** A GLUE directory with the given task folders (default all nine): `train` rows each, `dev` rows per dev file. */
export function writeGlueDir(o: { train?: number; dev?: number; folders?: string[] } = {}): string {
  const dir = temporaryDir();
  for (const [folder, spec] of Object.entries(TASKS)) {
    if (o.folders && !o.folders.includes(folder)) continue;
    fs.mkdirSync(path.join(dir, folder));
    const write = (file: string, n: number, offset: number) => fs.writeFileSync(path.join(dir, folder, file),
      `${[...(spec.header ? [spec.header.join('\t')] : []), ...rows(n, offset, spec.row)].join('\n')}\n`);
    write('train.tsv', o.train ?? 40, 0);
    (spec.tests ?? ['dev.tsv']).forEach((f, k) => write(f, o.dev ?? 16, 1000 + 100 * k));
  }
  return dir;
}
