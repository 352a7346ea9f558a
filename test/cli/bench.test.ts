import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli';
import { temporaryDir } from '../helpers/tmp';

const TINY = ['--d-model', '16', '--heads', '2', '--d-ff', '32', '--layers', '1', '--vocab', '50', '--batch', '2',
  '--input-len', '6', '--target-len', '4', '--steps', '2'];

describe('deepfusion bench', () => {
  test('prints a line per step and a JSON summary with the measurements, on the native backend', () => {
    const r = runCli(['bench', ...TINY], { DEEPFUSION_BACKEND: 'native' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.filter((l) => /^step \d/.test(l)).length, 2);
    const summary = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    for (const key of ['precision', 'step_seconds_median', 'tokens_per_second', 'gflops', 'mfu', 'peak_gflops', 'peak_rss_mb', 'backend']) {
      assert.ok(key in summary, `missing ${key}`);
    }
    assert.equal(summary.backend, 'native');
    assert.ok((summary.mfu as number) > 0 && (summary.peak_gflops as number) > 0);
    const peaks = summary.hardware_peak_gflops as { fp32_fma: number; bf16_dot: number | null };
    assert.equal(summary.peak_gflops, summary.precision === 'bf16' ? peaks.bf16_dot : peaks.fp32_fma, 'MFU is against the peak of the precision that ran');
    assert.equal(summary.memory_stable, true);
  });

  test('--precision fp32 and bf16 run and say so; bf16 where it cannot run falls back to fp32 with a warning', () => {
    const fp32 = runCli(['bench', ...TINY, '--no-peak', '--precision', 'fp32'], { DEEPFUSION_BACKEND: 'native' });
    assert.equal(fp32.status, 0, fp32.stderr);
    assert.equal((JSON.parse(fp32.stdout.trim().split('\n').at(-1)!) as { precision: string }).precision, 'fp32');
    const onCpu = runCli(['bench', ...TINY, '--steps', '1', '--precision', 'bf16', '--backend', 'cpu'], {});
    assert.equal(onCpu.status, 0, onCpu.stderr);
    assert.match(onCpu.stderr, /warning: precision bf16 is not available: the cpu backend computes in float32 only.*Computing in fp32/);
    assert.equal((JSON.parse(onCpu.stdout.trim().split('\n').at(-1)!) as { precision: string }).precision, 'fp32');
  });

  test('--save-init writes the inputs of the PyTorch peer', () => {
    const dir = temporaryDir('df-bench-');
    try {
      const r = runCli(['bench', ...TINY, '--steps', '1', '--no-peak', '--save-init', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['batch.safetensors', 'config.json', 'model.safetensors']);
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { d_model: number; bench: { name: string } };
      assert.equal(config.d_model, 16);
      assert.equal(config.bench.name, 'adam');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad option names itself and the fix', () => {
    const r = runCli(['bench', '--optimizer', 'lion']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--optimizer must be one of adam, adafactor, tf-adam, sgd, got "lion"/);
  });
});
