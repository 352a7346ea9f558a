// GLUE (Wang et al., 2019) read from the directory layout its download script writes:
// <dir>/CoLA/train.tsv, <dir>/SST-2/dev.tsv, <dir>/MNLI/dev_matched.tsv, … Inputs are written as
// T5 writes them ("mrpc sentence1: … sentence2: …"), the labels as their names. GLUE's test
// labels are not public, so a task is scored on its dev set, as papers report GLUE dev results;
// the checkpoint is chosen on a held-out slice of train.tsv, so the reported number never chose
// anything. Rows that do not parse are refused with file and line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode, FileError, UserError } from '../../errors';
import { sha256Hex } from '../../util/hash';
import { normalizeText } from '../normalize';
import { HELD_OUT } from './builtin';
import { hashSplit } from './split';
import type { MetricName, Task, TaskExample, TaskKind, TaskSplits, TestSet, ValueGrid } from './types';

interface GlueSpec {
  name: string;
  folder: string;
  description: string;
  /** The files have a header row (all but CoLA). */
  header: boolean;
  /** Input fields: [name in the T5 text, column name (or index for files without a header)]. */
  inputs: Array<[string, string | number]>;
  label: string | number;
  kind: TaskKind;
  /** Label column value → label index (classification). */
  values?: Record<string, number>;
  labels: string[];
  grid?: ValueGrid;
  metrics: MetricName[];
  tests: Array<{ name: string; file: string }>;
}

const BINARY = { '0': 0, '1': 1 };
const ENTAILMENT = { entailment: 0, not_entailment: 1 };
const DEV = [{ name: 'dev', file: 'dev.tsv' }];

const SPECS: GlueSpec[] = [
  { name: 'cola', folder: 'CoLA', description: 'grammatical acceptability of a sentence', header: false, inputs: [['sentence', 3]], label: 1,
    kind: 'classification', values: BINARY, labels: ['unacceptable', 'acceptable'], metrics: ['mcc'], tests: DEV },
  { name: 'sst2', folder: 'SST-2', description: 'sentiment of a movie-review sentence', header: true, inputs: [['sentence', 'sentence']], label: 'label',
    kind: 'classification', values: BINARY, labels: ['negative', 'positive'], metrics: ['accuracy'], tests: DEV },
  { name: 'mrpc', folder: 'MRPC', description: 'are two news sentences paraphrases?', header: true,
    inputs: [['sentence1', '#1 String'], ['sentence2', '#2 String']], label: 'Quality',
    kind: 'classification', values: BINARY, labels: ['not_equivalent', 'equivalent'], metrics: ['f1', 'accuracy'], tests: DEV },
  { name: 'qqp', folder: 'QQP', description: 'do two Quora questions ask the same?', header: true,
    inputs: [['question1', 'question1'], ['question2', 'question2']], label: 'is_duplicate',
    kind: 'classification', values: BINARY, labels: ['not_duplicate', 'duplicate'], metrics: ['f1', 'accuracy'], tests: DEV },
  { name: 'stsb', folder: 'STS-B', description: 'semantic similarity of two sentences, 0 to 5', header: true,
    inputs: [['sentence1', 'sentence1'], ['sentence2', 'sentence2']], label: 'score',
    kind: 'regression', labels: [], grid: { min: 0, max: 5, step: 0.2, decimals: 1 }, metrics: ['pearson', 'spearman'], tests: DEV },
  { name: 'mnli', folder: 'MNLI', description: 'does a premise entail, contradict or say nothing of a hypothesis? (matched and mismatched genres)', header: true,
    inputs: [['hypothesis', 'sentence2'], ['premise', 'sentence1']], label: 'gold_label',
    kind: 'classification', values: { entailment: 0, neutral: 1, contradiction: 2 }, labels: ['entailment', 'neutral', 'contradiction'],
    metrics: ['accuracy'], tests: [{ name: 'matched', file: 'dev_matched.tsv' }, { name: 'mismatched', file: 'dev_mismatched.tsv' }] },
  { name: 'qnli', folder: 'QNLI', description: 'does a sentence answer a question?', header: true,
    inputs: [['question', 'question'], ['sentence', 'sentence']], label: 'label',
    kind: 'classification', values: ENTAILMENT, labels: ['entailment', 'not_entailment'], metrics: ['accuracy'], tests: DEV },
  { name: 'rte', folder: 'RTE', description: 'does one text entail another?', header: true,
    inputs: [['sentence1', 'sentence1'], ['sentence2', 'sentence2']], label: 'label',
    kind: 'classification', values: ENTAILMENT, labels: ['entailment', 'not_entailment'], metrics: ['accuracy'], tests: DEV },
  { name: 'wnli', folder: 'WNLI', description: 'does a sentence with a pronoun replaced follow from the original?', header: true,
    inputs: [['sentence1', 'sentence1'], ['sentence2', 'sentence2']], label: 'label',
    kind: 'classification', values: BINARY, labels: ['not_entailment', 'entailment'], metrics: ['accuracy'], tests: DEV },
];

export const GLUE_TASK_NAMES = SPECS.map((s) => s.name);

const LAYOUT_FIX = 'use the layout GLUE\'s download script writes: <dir>/CoLA/train.tsv, <dir>/CoLA/dev.tsv, …, <dir>/MNLI/dev_matched.tsv';

function readLines(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileError(file, `cannot be read (${errnoCode(err)})`, LAYOUT_FIX);
  }
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The examples of one GLUE .tsv file; a row that does not parse is refused with its line. */
export function readGlueFile(spec: GlueSpec, file: string, split: string): TaskExample[] {
  const lines = readLines(file);
  let columns: Map<string, number> | null = null;
  let width = Math.max(...[...spec.inputs.map(([, c]) => c), spec.label].map((c) => (typeof c === 'number' ? c + 1 : 0)));
  const needed = [...spec.inputs.map(([, c]) => c), spec.label].filter((c): c is string => typeof c === 'string');
  if (spec.header) {
    if (lines.length === 0) throw new FileError(file, 'is empty; it should start with a header row', LAYOUT_FIX);
    const header = lines[0].split('\t');
    columns = new Map(header.map((h, i) => [h.trim(), i]));
    const missing = needed.filter((c) => !columns?.has(c));
    if (missing.length) {
      throw new FileError(file, `line 1: the header has no column ${missing.map((c) => `"${c}"`).join(', ')} (it has ${header.join(', ')})`,
        `give ${spec.folder}'s ${path.basename(file)} as GLUE distributes it`);
    }
    width = header.length;
  }
  const column = (c: string | number): number => (typeof c === 'number' ? c : columns?.get(c) as number);
  const examples: TaskExample[] = [];
  for (let i = spec.header ? 1 : 0; i < lines.length; i++) {
    const at = `line ${i + 1}`;
    if (lines[i].trim() === '') continue;
    const fields = lines[i].split('\t');
    if (spec.header ? fields.length !== width : fields.length < width) {
      throw new FileError(file, `${at}: has ${fields.length} tab-separated fields, expected ${spec.header ? '' : 'at least '}${width}`,
        'repair or remove the row (a tab or line break inside a text field splits it)');
    }
    const raw = fields[column(spec.label)].trim();
    let label: number;
    if (spec.kind === 'regression') {
      label = Number(raw);
      const g = spec.grid as ValueGrid;
      if (raw === '' || !Number.isFinite(label) || label < g.min || label > g.max) {
        throw new FileError(file, `${at}: the ${String(spec.label)} "${raw}" is not a number in [${g.min}, ${g.max}]`, 'repair or remove the row');
      }
    } else {
      const value = spec.values?.[raw];
      if (value === undefined) {
        throw new FileError(file, `${at}: the label "${raw}" is not one of ${Object.keys(spec.values ?? {}).join(', ')}`, 'repair or remove the row');
      }
      label = value;
    }
    const input = spec.inputs.map(([name, c]) => `${name}: ${normalizeText(fields[column(c)])}`).join(' ');
    examples.push({ id: `${spec.name}/${split}/${i + 1}`, input: `${spec.name} ${input}`, label });
  }
  return examples;
}

function glueTask(spec: GlueSpec, dir: string): Task {
  const folder = path.join(dir, spec.folder);
  const files = ['train.tsv', ...spec.tests.map((t) => t.file)].map((f) => path.join(folder, f));
  return {
    name: spec.name, description: `GLUE ${spec.folder}: ${spec.description}`, kind: spec.kind, labels: spec.labels, grid: spec.grid,
    metrics: spec.metrics, positive: spec.metrics.includes('f1') ? 1 : undefined, contamination: null, source: folder,
    fingerprint() {
      // Sizes and modification times: reading GLUE's largest files only to hash them would cost as much as loading them.
      return sha256Hex('glue', spec.name, ...files.map((f) => {
        const st = fs.statSync(f);
        return `${f}:${st.size}:${st.mtimeMs}`;
      }));
    },
    load(): TaskSplits {
      // The checkpoint is chosen on a slice of train.tsv; dev.tsv is the reported score.
      const s = hashSplit(readGlueFile(spec, files[0], 'train'), { group: (e) => e.id, validation: HELD_OUT.validation, test: 0 });
      const tests: TestSet[] = spec.tests.map((t, i) => ({ name: t.name, examples: readGlueFile(spec, files[i + 1], t.name) }));
      return { train: s.train, validation: s.validation, tests };
    },
  };
}

/**
 * The GLUE tasks of `dir`: those named (refused when unknown or missing), or every task whose
 * folder is there.
 */
export function glueTasks(dir: string, names?: readonly string[]): Task[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new FileError(dir, 'is not a directory', `give the GLUE directory (it holds ${SPECS.map((s) => s.folder).join(', ')})`);
  }
  const unknown = (names ?? []).filter((n) => !GLUE_TASK_NAMES.includes(n));
  if (unknown.length) {
    throw new UserError(`GLUE has no task ${unknown.map((n) => `"${n}"`).join(', ')}. Fix: use ${GLUE_TASK_NAMES.join(', ')}`);
  }
  const chosen = names ? SPECS.filter((s) => names.includes(s.name)) : SPECS.filter((s) => fs.existsSync(path.join(dir, s.folder)));
  if (chosen.length === 0) throw new FileError(dir, `holds none of GLUE's task folders (${SPECS.map((s) => s.folder).join(', ')})`, LAYOUT_FIX);
  for (const spec of chosen) {
    for (const file of ['train.tsv', ...spec.tests.map((t) => t.file)]) {
      const f = path.join(dir, spec.folder, file);
      if (!fs.existsSync(f)) throw new FileError(f, `is missing (GLUE task ${spec.name} needs ${spec.folder}/${file})`, LAYOUT_FIX);
    }
  }
  return chosen.map((s) => glueTask(s, dir));
}
