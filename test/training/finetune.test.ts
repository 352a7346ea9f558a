import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { finetune, suiteAverage, type SuiteResult } from '../../src/training/finetune';
import { resolveFinetuneSettings, type FinetuneSettings } from '../../src/training/finetune_settings';
import { readMetrics } from '../../src/training/metrics';
import type { TrainEvent } from '../../src/training/loop';
import { ConfigError } from '../../src/errors';
import { temporaryDir } from '../helpers/tmp';
import { writeGlueDir } from '../helpers/glue';
import { TEST_BACKENDS } from '../helpers/backends';
import { tinyModelDir } from '../helpers/tiny_model';

// Training runs dozens of steps: on the native backend when the suite tests it, else on the reference.
const BACKEND = TEST_BACKENDS.includes('native') ? 'native' : 'cpu';

let model: string;
let glue: string;

function settings(values: Record<string, unknown>): FinetuneSettings {
  return resolveFinetuneSettings([{ values: { model, glue, batch_size: 16, eval_batch_size: 16, input_length: 16, ...values }, source: 'test' }]);
}

describe('fine-tuning', () => {
  before(async () => {
    await initEngine(BACKEND);
    model = await tinyModelDir();
    glue = writeGlueDir({ train: 240, dev: 48, folders: ['SST-2', 'STS-B', 'RTE'] });
    process.env.DEEPFUSION_CACHE = temporaryDir();
  });

  test('T5\'s recipe is the default: Adafactor at a constant 1e-3, 300 steps per task, separate runs, ranked answers', () => {
    const s = resolveFinetuneSettings([{ values: { model: 'm' }, source: 'test' }]);
    assert.equal(s.train.optimizer.name, 'adafactor');
    // Steps of the rate's size, not scaled by each weight's RMS (docs/finetune.md#the-recipe).
    assert.equal((s.train.optimizer as { scale_parameter: boolean }).scale_parameter, false);
    const asked = resolveFinetuneSettings([{ values: { model: 'm', optimizer: { name: 'adafactor', scale_parameter: true } }, source: 'test' }]);
    assert.equal((asked.train.optimizer as { scale_parameter: boolean }).scale_parameter, true, 'a config can still ask for the scaled step');
    assert.deepEqual(s.train.schedule, { kind: 'constant', lr: 1e-3, warmup: 0 });
    assert.deepEqual([s.train.steps, s.train.dropout, s.mixture, s.decode, s.init], [300, null, false, 'rank', 'pretrained']);
    assert.throws(() => resolveFinetuneSettings([{ values: {}, source: 'test' }]), (e: Error) => e instanceof ConfigError && /"model": no model is given/.test(e.message));
  });

  test('a task whose label follows from a word is learnt far above its majority baseline; the best model is kept and scored on test', async () => {
    const run = path.join(temporaryDir(), 'ft');
    const events: Array<[string, TrainEvent]> = [];
    const r = await finetune({ ...settings({ task: ['sst2'], steps: 60, eval_every: 20 }), run }, { onEvent: (n, e) => events.push([n, e]) });
    const [sst] = r.tasks;
    assert.equal(sst.task, 'sst2');
    assert.ok(sst.score > 0.9 && sst.score > sst.majority.score + 0.25, `test accuracy ${sst.score}, majority ${sst.majority.score}`);
    assert.equal(r.average, sst.score);
    assert.equal(sst.tests[0].examples, 48);
    assert.ok([20, 40, 60].includes(sst.best.step), `kept step ${sst.best.step}: the untrained model is never kept`);
    const taskRun = path.join(run, 'sst2');
    for (const f of ['run.json', 'metrics.jsonl', 'best/model.safetensors', 'best/best.json', 'best/tokenizer.json', 'final/model.safetensors', 'test.json']) {
      assert.ok(fs.existsSync(path.join(taskRun, f)), f);
    }
    const scored = readMetrics(path.join(taskRun, 'metrics.jsonl')).eval;
    assert.deepEqual(scored.map((e) => e.step), [0, 20, 40, 60]);
    assert.equal(Math.max(...scored.filter((e) => e.step > 0).map((e) => e.score as number)), sst.best.validation_score);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(run, 'results.json'), 'utf8')), JSON.parse(JSON.stringify(r)));
    assert.ok(events.some(([n, e]) => n === 'sst2' && e.type === 'train' && e.step === 60));

    // Run again: nothing is trained, the same results come back.
    const again: TrainEvent[] = [];
    const r2 = await finetune({ ...settings({ task: ['sst2'], steps: 60, eval_every: 20 }), run }, { onEvent: (_n, e) => again.push(e) });
    assert.ok(again.every((e) => e.type !== 'train') && again.some((e) => e.type === 'done' && e.cached));
    assert.deepEqual({ ...r2, train_seconds: 0 }, { ...r, train_seconds: 0 });
  });

  test('greedy decoding scores what the model writes; an answer naming no label would count as wrong', async () => {
    const r = await finetune({ ...settings({ task: ['sst2'], steps: 60, eval_every: 30, decode: 'greedy' }), run: path.join(temporaryDir(), 'greedy') });
    const [sst] = r.tasks;
    assert.equal(r.decode, 'greedy');
    assert.ok(sst.score > sst.majority.score + 0.25, `test accuracy ${sst.score} (${sst.tests[0].invalid} answers named no label)`);
    assert.ok(sst.tests[0].invalid <= 48 * (1 - sst.score) + 1e-9, 'invalid answers are among the wrong ones');
  });

  test('the mixture learns every task in one run, regression scored with Pearson and Spearman', async () => {
    const run = path.join(temporaryDir(), 'mix');
    const r: SuiteResult = await finetune({ ...settings({ task: ['sst2', 'stsb'], mixture: true, mixture_cap: 100, steps: 120, eval_every: 40 }), run });
    assert.deepEqual(r.tasks.map((t) => t.task), ['sst2', 'stsb']);
    assert.ok(r.tasks.every((t) => t.run === path.join(run, 'mixture')));
    assert.ok(fs.existsSync(path.join(run, 'mixture', 'best', 'model.safetensors')) && !fs.existsSync(path.join(run, 'sst2')));
    const [sst, stsb] = r.tasks;
    assert.deepEqual(Object.keys(stsb.tests[0].metrics), ['pearson', 'spearman']);
    assert.ok(sst.score > sst.majority.score + 0.25, `sst2 ${sst.score} vs majority ${sst.majority.score}`);
    assert.ok(stsb.score > 0.5, `stsb ${stsb.score}`);
    const scored = readMetrics(path.join(run, 'mixture', 'metrics.jsonl')).eval.at(-1);
    assert.deepEqual(Object.keys(scored?.metrics ?? {}).sort(), ['sst2.accuracy', 'stsb.pearson', 'stsb.spearman']);
  });

  test('a randomly initialised model of the same shape fine-tunes from its own seed', async () => {
    const run = path.join(temporaryDir(), 'random');
    const r = await finetune({ ...settings({ task: ['rte'], steps: 4, eval_every: 2, init: 'random', seed: 5 }), run });
    assert.equal(r.init, 'random');
    const identity = JSON.parse(fs.readFileSync(path.join(run, 'rte', 'run.json'), 'utf8')) as { init: { seed: number; config: unknown } };
    assert.equal(identity.init.seed, 5);
    assert.ok(identity.init.config, 'the model\'s config, initialised afresh');
  });

  test('contaminated tasks are left out of the suite average', () => {
    assert.equal(suiteAverage([{ score: 0.8, contamination: null }, { score: 0.6, contamination: null }, { score: 0.1, contamination: 'in the corpus' }]), 0.7);
    assert.ok(Number.isNaN(suiteAverage([{ score: 0.8, contamination: 'x' }])));
  });
});
