import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors';
import { learningRate, parseScheduleSpec, T5_SCHEDULE, type ScheduleSpec } from '../../src/training/schedules';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

describe('schedules', () => {
  test("T5's inverse square root is 0.01 through warmup, then 1/sqrt(t)", () => {
    close(learningRate(T5_SCHEDULE, 1), 0.01, 'step 1');
    close(learningRate(T5_SCHEDULE, 10_000), 0.01, 'end of warmup');
    close(learningRate(T5_SCHEDULE, 40_000), 0.005, 'step 40k');
    const s: ScheduleSpec = { kind: 'inverse-sqrt', base: 2, warmup: 4 };
    close(learningRate(s, 16), 0.5, 'base 2 at 16');
  });

  test('the offset shifts the schedule; negative offsets raise the inverse-sqrt rate', () => {
    close(learningRate(T5_SCHEDULE, 10_000, 30_000), learningRate(T5_SCHEDULE, 40_000), 'positive offset');
    assert.ok(learningRate(T5_SCHEDULE, 90_000, -50_000) > learningRate(T5_SCHEDULE, 90_000));
    close(learningRate(T5_SCHEDULE, 90_000, -50_000), 1 / Math.sqrt(40_000), 'negative offset');
  });

  test('an offset reaching before the start clamps at the first update and stays finite', () => {
    const noWarmup: ScheduleSpec = { kind: 'inverse-sqrt', base: 1, warmup: 0 };
    close(learningRate(noWarmup, 5, -100), 1, 'clamped at t = 1');
    const lin: ScheduleSpec = { kind: 'linear', lr: 1, warmup: 10, total: 100, final: 0 };
    close(learningRate(lin, 3, -50), 0.1, 'warmup opening value');
  });

  test('constant with linear warmup', () => {
    const s: ScheduleSpec = { kind: 'constant', lr: 0.3, warmup: 3 };
    [0.1, 0.2, 0.3, 0.3, 0.3].forEach((lr, i) => close(learningRate(s, [1, 2, 3, 4, 100][i]), lr, `step ${i}`));
    close(learningRate({ kind: 'constant', lr: 0.3, warmup: 0 }, 1), 0.3, 'no warmup');
  });

  test('linear decay: warmup, straight line to the floor at total, then the floor', () => {
    const s: ScheduleSpec = { kind: 'linear', lr: 1, warmup: 10, total: 110, final: 0.1 };
    close(learningRate(s, 5), 0.5, 'half warmup');
    close(learningRate(s, 10), 1, 'peak');
    close(learningRate(s, 60), 0.55, 'midway');
    close(learningRate(s, 110), 0.1, 'end');
    close(learningRate(s, 1000), 0.1, 'after the end');
  });

  test('cosine decay: half a cosine from the peak to the floor', () => {
    const s: ScheduleSpec = { kind: 'cosine', lr: 1, warmup: 0, total: 100, final: 0.2 };
    close(learningRate(s, 1), 0.2 + 0.8 * 0.5 * (1 + Math.cos(Math.PI * 0.01)), 'start');
    close(learningRate(s, 50), 0.6, 'midway');
    close(learningRate(s, 100), 0.2, 'end');
    close(learningRate(s, 500), 0.2, 'after the end');
  });

  test('parse fills defaults and names the bad field', () => {
    assert.deepEqual(parseScheduleSpec({ kind: 'inverse-sqrt' }, 'x.json'), T5_SCHEDULE);
    assert.deepEqual(parseScheduleSpec({ kind: 'cosine', lr: 0.1, total: 50 }, 'x.json'),
      { kind: 'cosine', lr: 0.1, warmup: 0, total: 50, final: 0 });
    assert.throws(() => parseScheduleSpec({ kind: 'cosine', total: 50 }, 'x.json'),
      (e: unknown) => e instanceof ConfigError && /x\.json: field "schedule\.lr": is missing/.test(e.message));
    assert.throws(() => parseScheduleSpec({ kind: 'step' }, 'x.json'), /field "schedule\.kind"/);
    assert.throws(() => parseScheduleSpec({ kind: 'constant', lr: 1, total: 3 }, 'x.json'), /field "schedule\.total": is not a field/);
    assert.throws(() => parseScheduleSpec({ kind: 'linear', lr: 1, warmup: 10, total: 5 }, 'x.json'), /schedule\.total/);
    assert.throws(() => parseScheduleSpec({ kind: 'constant', lr: -1 }, 'x.json'), /schedule\.lr/);
  });
});
