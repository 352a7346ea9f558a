import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { bf16Unavailable } from '../../src/engine/precision';
import { ConfigError, UserError } from '../../src/errors';
import { readSafetensors } from '../../src/io/safetensors';
import { readMetrics } from '../../src/training/metrics';
import { train } from '../../src/training/loop';
import { PRETRAIN_SETTINGS, RESUME_IDENTITY, resolvePretrainSettings } from '../../src/training/settings';
import { NATIVE, REFERENCE } from '../helpers/backends';
import { tinyRun } from './helpers/tiny_run';
import { temporaryDir } from '../helpers/tmp';

let root: string;
const dir = (name: string): string => path.join(root, name);
const weights = (runDir: string): Map<string, Float32Array> =>
  new Map([...readSafetensors(path.join(runDir, 'final', 'model.safetensors'))].map(([k, v]) => [k, v.data]));
const losses = (runDir: string): number[] => readMetrics(path.join(runDir, 'metrics.jsonl')).train.map((t) => t.loss);

before(() => { root = temporaryDir('df-precision-'); });
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the precision setting', () => {
  test('one declaration: a flag, a config field, part of a run\'s identity; its default is the machine\'s', async () => {
    assert.deepEqual(PRETRAIN_SETTINGS.fromArgs({ precision: 'fp32' }), { precision: 'fp32' });
    assert.match(PRETRAIN_SETTINGS.help(), /--precision <bf16\|fp32>\s+matrix products in bf16/);
    assert.ok(RESUME_IDENTITY.includes('precision'));
    await initEngine(NATIVE);
    const machine = bf16Unavailable() === null ? 'bf16' : 'fp32';
    assert.equal(resolvePretrainSettings([{ values: { preset: 's' }, source: 'test' }]).precision, machine);
    assert.equal(resolvePretrainSettings([{ values: { preset: 's', precision: 'fp32' }, source: 'test' }]).precision, 'fp32');
    assert.throws(() => resolvePretrainSettings([{ values: { preset: 's', precision: 'fp16' }, source: 'train.json' }]),
      (e: unknown) => e instanceof ConfigError && /train\.json.*precision.*one of bf16, fp32/.test(e.message));
  });

  test('on the cpu backend the default is fp32, and a bf16 run is refused with the fix', async () => {
    await initEngine(REFERENCE);
    assert.equal(resolvePretrainSettings([{ values: { preset: 's' }, source: 'test' }]).precision, 'fp32');
    await assert.rejects(train(tinyRun(dir('cpu-bf16'), { steps: 1, precision: 'bf16' })),
      (e: unknown) => e instanceof UserError && /precision bf16 cannot run here: the cpu backend.*Fix: train with precision fp32/.test(e.message));
  });

  test('a run directory from before the setting existed resumes as the fp32 run it was', async () => {
    await initEngine(REFERENCE);
    const runDir = dir('older');
    await train(tinyRun(runDir, { steps: 2 }));
    const file = path.join(runDir, 'run.json');
    const { precision, ...older } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(precision, 'fp32');
    fs.writeFileSync(file, JSON.stringify(older));
    assert.equal((await train(tinyRun(runDir, { steps: 3 }))).step, 3);
  });
});

describe('training in bf16 on the native backend', () => {
  test('learns like fp32, resumes bit for bit, and keeps its precision', async (t) => {
    await initEngine(NATIVE);
    if (bf16Unavailable() !== null) return t.skip(`no bf16 here: ${bf16Unavailable()}`);
    const steps = 30;
    await train(tinyRun(dir('fp32'), { steps, precision: 'fp32' }));
    await train(tinyRun(dir('bf16'), { steps, precision: 'bf16' }));
    const [fp32, bf16] = [losses(dir('fp32')), losses(dir('bf16'))];
    assert.notDeepEqual(bf16, fp32, 'the products round to bf16');
    // The curves agree closely early on (the losses of single steps are noisy later on this small task).
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(bf16[i] - fp32[i]) < 0.05, `step ${i + 1}: ${bf16[i]} vs fp32 ${fp32[i]}`);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [late32, late16] = [mean(fp32.slice(-10)), mean(bf16.slice(-10))];
    assert.ok(late16 < 0.25 * bf16[0], `bf16 learns: ${bf16[0]} → ${late16} (mean of the last 10 steps)`);
    assert.ok(Math.abs(late16 - late32) < 0.25 * late32, `mean loss of the last 10 steps ${late16} vs fp32 ${late32}`);
    // Stopped halfway and continued: the same bits as the straight run.
    await train(tinyRun(dir('bf16-resumed'), { steps: steps / 2, precision: 'bf16' }));
    await train(tinyRun(dir('bf16-resumed'), { steps, precision: 'bf16' }));
    assert.deepEqual(losses(dir('bf16-resumed')), bf16);
    assert.deepEqual(weights(dir('bf16-resumed')), weights(dir('bf16')));
    await assert.rejects(train(tinyRun(dir('bf16'), { steps: steps + 1, precision: 'fp32' })),
      (e: unknown) => e instanceof ConfigError && e.message.includes('field "precision"') && e.message.includes('"bf16"') &&
        e.message.includes('resume with the same precision'));
  });
});
