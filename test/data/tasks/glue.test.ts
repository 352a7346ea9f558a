import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FileError, UserError } from '../../../src/errors';
import { GLUE_TASK_NAMES, glueTasks, prepareTask, selectTasks } from '../../../src/data/tasks';
import { temporaryDir } from '../../helpers/tmp';
import { positive, sentence, writeGlueDir } from '../../helpers/glue';

const CAPS = { train_cap: 1000, validation_cap: 1000, test_cap: 1000 };

describe('GLUE directories', () => {
  test('all nine tasks load from the standard layout with T5\'s text format, GLUE\'s labels and metrics', () => {
    const dir = writeGlueDir({ train: 40, dev: 12 });
    const tasks = glueTasks(dir);
    assert.deepEqual(tasks.map((t) => t.name), GLUE_TASK_NAMES);
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    assert.deepEqual(byName.cola.metrics, ['mcc']);
    assert.deepEqual(byName.mrpc.metrics, ['f1', 'accuracy']);
    assert.deepEqual(byName.qqp.metrics, ['f1', 'accuracy']);
    assert.deepEqual(byName.stsb.metrics, ['pearson', 'spearman']);
    assert.equal(byName.stsb.kind, 'regression');
    for (const name of ['sst2', 'mnli', 'qnli', 'rte', 'wnli']) assert.deepEqual(byName[name].metrics, ['accuracy'], name);

    const cola = byName.cola.load();
    assert.equal(cola.train.length + cola.validation.length, 40, 'train.tsv is split into training and validation examples');
    assert.ok(cola.validation.length >= 1);
    assert.deepEqual(cola.tests.map((t) => [t.name, t.examples.length]), [['dev', 12]]);
    const first = [...cola.train, ...cola.validation].find((e) => e.id === 'cola/train/1');
    assert.deepEqual(first, { id: 'cola/train/1', input: `cola sentence: ${sentence(0)}`, label: positive(0) ? 1 : 0 });

    const mnli = byName.mnli.load();
    assert.deepEqual(mnli.tests.map((t) => t.name), ['matched', 'mismatched']);
    const m = mnli.tests[0].examples[0];
    assert.equal(m.input, `mnli hypothesis: ${sentence(1001)} premise: ${sentence(1000)}`);
    assert.equal(m.label, ['entailment', 'neutral', 'contradiction'].indexOf(['entailment', 'neutral', 'contradiction'][1000 % 3]));
    const stsb = byName.stsb.load();
    assert.equal(stsb.tests[0].examples[0].label, positive(1000) ? 4 : 1);
    assert.match(byName.mrpc.load().tests[0].examples[0].input, /^mrpc sentence1: .+ sentence2: .+$/);
  });

  test('a prepared GLUE task has its majority baseline scored with the task\'s metric', () => {
    const dir = writeGlueDir({ train: 60, dev: 20, folders: ['MRPC'] });
    const [mrpc] = glueTasks(dir);
    const p = prepareTask(mrpc, CAPS, temporaryDir());
    const labels = p.tests[0].examples.map((e) => e.label);
    const guess = p.majority.prediction;
    const acc = labels.filter((l) => l === guess).length / labels.length;
    const f1 = guess === 1 ? (2 * labels.filter((l) => l === 1).length) / (labels.length + labels.filter((l) => l === 1).length) : 0;
    assert.ok(Math.abs(p.majority.tests[0].metrics.accuracy! - acc) < 1e-12);
    assert.ok(Math.abs(p.majority.tests[0].metrics.f1! - f1) < 1e-12);
    assert.ok(Math.abs(p.majority.score - (acc + f1) / 2) < 1e-12);
  });

  test('only the named tasks load; without names, the folders present', () => {
    const dir = writeGlueDir({ folders: ['RTE', 'CoLA'] });
    assert.deepEqual(glueTasks(dir).map((t) => t.name), ['cola', 'rte']);
    assert.deepEqual(glueTasks(dir, ['rte']).map((t) => t.name), ['rte']);
    assert.deepEqual(selectTasks({ glue: dir, task: ['cola'], suite: undefined }, 'test').tasks.map((t) => t.name), ['cola']);
  });

  test('a malformed row is refused with its file and line, and what is wrong', () => {
    const dir = writeGlueDir({ folders: ['SST-2', 'CoLA', 'STS-B'] });
    const sst = path.join(dir, 'SST-2', 'train.tsv');
    const lines = fs.readFileSync(sst, 'utf8').split('\n');
    lines[5] = 'a sentence without its label';
    fs.writeFileSync(sst, lines.join('\n'));
    assert.throws(() => glueTasks(dir, ['sst2'])[0].load(),
      (e: Error) => e instanceof FileError && e.message.startsWith(`${sst}: line 6: has 1 tab-separated fields, expected 2`));

    const cola = path.join(dir, 'CoLA', 'dev.tsv');
    const colaLines = fs.readFileSync(cola, 'utf8').split('\n');
    colaLines[2] = colaLines[2].replace(/\t[01]\t/, '\tmaybe\t');
    fs.writeFileSync(cola, colaLines.join('\n'));
    assert.throws(() => glueTasks(dir, ['cola'])[0].load(),
      (e: Error) => e instanceof FileError && e.message.startsWith(`${cola}: line 3: the label "maybe" is not one of 0, 1`) && /Fix:/.test(e.message));

    const stsb = path.join(dir, 'STS-B', 'dev.tsv');
    const stsLines = fs.readFileSync(stsb, 'utf8').split('\n');
    stsLines[1] = stsLines[1].replace(/\t[\d.]+$/, '\t7.5');
    fs.writeFileSync(stsb, stsLines.join('\n'));
    assert.throws(() => glueTasks(dir, ['stsb'])[0].load(), (e: Error) => e instanceof FileError && e.message.includes(`${stsb}: line 2: the score "7.5" is not a number in [0, 5]`));

    const header = path.join(dir, 'SST-2', 'dev.tsv');
    fs.writeFileSync(header, 'text\tlabel\nfine\t1\n');
    fs.writeFileSync(sst, 'sentence\tlabel\nfine\t1\n');
    assert.throws(() => glueTasks(dir, ['sst2'])[0].load(), (e: Error) => e instanceof FileError && e.message.includes(`${header}: line 1: the header has no column "sentence"`));
  });

  test('missing files, a directory without GLUE and unknown task names are refused with the path and the fix', () => {
    const dir = writeGlueDir({ folders: ['RTE', 'MNLI'] });
    fs.rmSync(path.join(dir, 'MNLI', 'dev_mismatched.tsv'));
    assert.throws(() => glueTasks(dir, ['mnli']), (e: Error) => e instanceof FileError &&
      e.message.startsWith(`${path.join(dir, 'MNLI', 'dev_mismatched.tsv')}: is missing (GLUE task mnli needs MNLI/dev_mismatched.tsv)`) && /Fix: use the layout/.test(e.message));
    assert.throws(() => glueTasks(dir, ['cola']), (e: Error) => e instanceof FileError && e.message.includes(path.join(dir, 'CoLA', 'train.tsv')));
    assert.throws(() => glueTasks(dir, ['colaa']), (e: Error) => e instanceof UserError && /GLUE has no task "colaa"\. Fix: use cola, sst2/.test(e.message));
    assert.throws(() => glueTasks(temporaryDir()), (e: Error) => e instanceof FileError && /holds none of GLUE's task folders/.test(e.message));
    assert.throws(() => glueTasks(path.join(dir, 'nothing')), (e: Error) => e instanceof FileError && /is not a directory/.test(e.message));
  });
});
