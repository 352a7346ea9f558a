import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { ADAFACTOR_DEFAULTS } from '../../src/training/optimizers/adafactor';
import { ADAMW_DEFAULTS } from '../../src/training/optimizers/adamw';
import { PRETRAIN_SETTINGS, readTrainingConfigFile, resolvePretrainSettings, RESUME_IDENTITY } from '../../src/training/settings';
import { SGD_DEFAULTS } from '../../src/training/optimizers/sgd';
import { T5_SCHEDULE } from '../../src/training/schedules';
import { temporaryDir } from '../helpers/tmp';

const resolve = (file: Record<string, unknown>, flags: Record<string, unknown> = {}) =>
  resolvePretrainSettings([{ values: file, source: 'train.json' }, { values: flags, source: 'deepfusion pretrain', fromFlags: true }]);

describe('pretrain settings', () => {
  test("a preset alone gives T5's recipe: Adafactor, inverse-sqrt at base 1 with 10k warmup, no clipping", () => {
    const s = resolve({ preset: 's' });
    assert.deepEqual(s.model, { preset: 's' });
    assert.equal(s.run, path.join('runs', 'pretrain-s'));
    assert.deepEqual(s.optimizer, ADAFACTOR_DEFAULTS);
    assert.deepEqual(s.schedule, T5_SCHEDULE);
    assert.equal(s.clip_norm, null);
    assert.deepEqual(s.data, { corpus: 'default', tokenizer: 'default', vocab_size: 8192, input_length: 128, eval_batches: 8, eval_batch_size: 16 });
    assert.equal(s.batch_size, 16);
    assert.equal(s.seed, 0);
  });

  test('flags override the file; lr is the peak rate of any schedule', () => {
    const s = resolve({ preset: 's', steps: 500, optimizer: { name: 'adamw', weight_decay: 0 }, schedule: 'cosine' },
      { steps: 800, lr: 3e-3, warmup: 50, optimizer: 'adamw', lr_offset: -100 });
    assert.equal(s.steps, 800);
    assert.deepEqual(s.optimizer, { ...ADAMW_DEFAULTS, weight_decay: 0 });
    assert.deepEqual(s.schedule, { kind: 'cosine', lr: 3e-3, warmup: 50, total: 800, final: 0 });
    assert.equal(s.clip_norm, 1);
    assert.equal(s.lr_offset, -100);
    const inv = resolve({ preset: 'm' }, { lr: 0.02, warmup: 400 });
    assert.deepEqual(inv.schedule, { kind: 'inverse-sqrt', base: 0.02 * 20, warmup: 400 });
    assert.deepEqual(resolve({ preset: 'm', schedule: { kind: 'inverse-sqrt', base: 2, warmup: 100 } }).schedule,
      { kind: 'inverse-sqrt', base: 2, warmup: 100 });
  });

  test('plain SGD for the dynamics analyses: no clipping (it would change the step), replica tracking is no identity', () => {
    const s = resolve({ preset: 's', optimizer: 'sgd', schedule: 'constant' }, { track_replicas_every: 50 });
    assert.deepEqual(s.optimizer, SGD_DEFAULTS);
    assert.deepEqual(s.schedule, { kind: 'constant', lr: 0.1, warmup: 0 });
    assert.equal(s.clip_norm, null);
    assert.equal(s.track_replicas_every, 50);
    assert.ok(!RESUME_IDENTITY.includes('track_replicas_every' as never), 'logging replicas does not change what a run computes');
  });

  test('continuing a model directory, with its optimizer state carried', () => {
    const s = resolve({ from: 'runs/fused', optimizer_state: 'carry' });
    assert.deepEqual(s.model, { from: 'runs/fused', optimizer_state: 'carry' });
    assert.equal(s.run, path.join('runs', 'continue-fused'));
  });

  test('an HF config.json given as the training config is the model to train', () => {
    const dir = temporaryDir('df-settings-');
    const file = path.join(dir, 'my-t5.json');
    fs.writeFileSync(file, JSON.stringify({ d_model: 64, d_kv: 16, d_ff: 128, num_layers: 2, num_heads: 4, vocab_size: 100 }));
    const s = resolvePretrainSettings([{ values: readTrainingConfigFile(file), source: file }]);
    assert.equal('config' in s.model && s.model.config.d_model, 64);
    fs.rmSync(dir, { recursive: true });
  });

  test('errors name the source and the field', () => {
    assert.throws(() => resolve({}), /train\.json \+ deepfusion pretrain: field "preset": no model is given/);
    assert.throws(() => resolve({ preset: 's', from: 'x' }), /field "preset \+ from": more than one model/);
    assert.throws(() => resolve({ preset: 'xl' }), /train\.json: field "preset": expected one of tiny, s, m, l, got "xl"/);
    assert.throws(() => resolve({ preset: 's' }, { steps: 'ten' }), /deepfusion pretrain: --steps must be an integer in \[0, 100000000\], got "ten"/);
    assert.throws(() => resolve({ preset: 's', stpes: 3 }), /field "stpes": is not a training setting/);
    assert.throws(() => resolve({ preset: 's', steps: -1 }), /field "steps": expected an integer in \[0, 100000000\]/);
    assert.throws(() => resolve({ preset: 's', steps: 1e12 }), /field "steps": expected an integer in \[0, 100000000\], got 1000000000000/);
    assert.throws(() => resolve({ preset: 's', schedule: 'step' }), /field "schedule": unknown schedule/);
    assert.throws(() => resolve({ preset: 's', optimizer: 'rmsprop' }), /field "optimizer\.name"/);
    assert.throws(() => resolve({ from: 'x', optimizer_state: 'keep' }), /field "optimizer_state"/);
    assert.throws(() => resolve({ preset: 's', lr: 0 }), /field "lr"/);
  });

  test('one declaration gives the flag, the --help line, the config field and the resume identity', () => {
    const options = PRETRAIN_SETTINGS.cliOptions();
    assert.deepEqual(options['lr-offset'], { type: 'string' });
    assert.deepEqual(options.batch, { type: 'string' });
    assert.equal(options.model, undefined, 'a setting without a flag is only a config field');
    assert.deepEqual(PRETRAIN_SETTINGS.fromArgs({ 'lr-offset': '-500', batch: '8', 'clip-norm': 'none' }), { lr_offset: -500, batch_size: 8, clip_norm: null });
    const help = PRETRAIN_SETTINGS.help();
    assert.match(help, /^ {2}--lr-offset K {12}evaluate the schedule at step \+ K .*\n {27}docs\/fusion\.md\) \(default 0\)$/m);
    assert.match(help, /^Training:$/m);
    const s = resolve({ preset: 's', lr_offset: 7 }, { lr_offset: -3 });
    assert.equal(s.lr_offset, -3);
  });
});
