import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readMetrics } from '../../src/training/metrics';
import { runCli } from '../helpers/cli';
import { smallCorpusAndTokenizer, temporaryDir } from '../helpers/corpus';

describe('deepfusion pretrain / eval', () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const tokenizerFile = path.join(temporaryDir(), 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const env = { DEEPFUSION_CACHE: temporaryDir() };
  const run = path.join(temporaryDir(), 'run');
  const data = ['--corpus', corpus.source, '--tokenizer', tokenizerFile, '--input-len', '32', '--batch', '4', '--eval-batches', '1'];
  const args = ['pretrain', '--preset', 'tiny', ...data, '--steps', '6', '--eval-every', '3', '--checkpoint-every', '3', '--lr', '0.03', '--run', run];

  test('pretrains the tiny preset on a corpus, showing progress, and writes the run directory', () => {
    const r = runCli(args, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^model +preset tiny: [\d.]+K parameters \(d_model 32, .*vocab 400\)$/m);
    assert.match(r.stderr, /^train 6\/6 \(100%\) loss [\d.]+ · lr 0\.0300 · tok\/s [\d.]+[KMB]? · ETA 0s$/m);
    assert.match(r.stderr, /^step 3: checkpoint .*step-00000003$/m);
    assert.match(r.stdout, /^trained: step 6, val_loss [\d.]+, val_accuracy [\d.]+/m);
    assert.match(r.stdout, new RegExp(`^curve +${path.join(run, 'val_loss.svg')}$`, 'm'));
    for (const f of ['run.json', 'metrics.jsonl', 'val_loss.svg', 'final/model.safetensors', 'final/tokenizer.json', 'checkpoints/step-00000003/optimizer.json']) {
      assert.ok(fs.existsSync(path.join(run, f)), f);
    }
    const m = readMetrics(path.join(run, 'metrics.jsonl'));
    assert.deepEqual(m.eval.map((e) => e.step), [0, 3, 6]);
    assert.ok(m.eval[2].val_loss < m.eval[0].val_loss);
  });

  test('the same command again finds the run finished', () => {
    const r = runCli(args, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^already trained: step 6/m);
  });

  test('eval of the final model reproduces the run\'s last validation loss', () => {
    const r = runCli(['eval', '--model', path.join(run, 'final'), ...data.filter((a) => a !== '--batch' && a !== '4'), '--eval-batch-size', '4'], env);
    assert.equal(r.status, 0, r.stderr);
    const last = readMetrics(path.join(run, 'metrics.jsonl')).eval.at(-1)!;
    assert.match(r.stdout, new RegExp(`^val_loss ${last.val_loss.toFixed(4)}  val_accuracy ${last.val_accuracy.toFixed(4)}`));
  });

  test('self-fuse carrying the optimizer state, then continue training the fused model with it', () => {
    const fused = path.join(temporaryDir(), 'fused');
    const fuse = runCli(['self-fuse', path.join(run, 'final'), '-o', fused, '--optimizer-state', 'carry'], env);
    assert.equal(fuse.status, 0, fuse.stderr);
    const next = path.join(temporaryDir(), 'continued');
    const r = runCli(['pretrain', '--from', fused, '--optimizer-state', 'carry', ...data, '--steps', '2', '--lr', '0.03',
      '--lr-offset', '6', '--run', next], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^model +.*fused: .*d_model 64, 4 heads/m);
    assert.match(r.stdout, /^trained: step 2/m);
    assert.equal(JSON.parse(fs.readFileSync(path.join(next, 'final', 'optimizer.json'), 'utf8')).step, 8);
  });

  test('bad settings are refused with exit code 2, naming the flag or field and the fix', () => {
    for (const [argv, message] of [
      [['pretrain', '--steps', '10'], /no model is given.*Fix: give exactly one of "preset"/],
      [['pretrain', '--preset', 'xl'], /--preset must be one of tiny, s, m, l, got "xl"/],
      [['pretrain', '--preset', 's', '--steps', 'ten'], /--steps must be an integer/],
      [['pretrain', '--preset', 's', '--schedule', 'step'], /field "schedule": unknown schedule "step"/],
      [[...args.slice(0, -2), '--run', run, '--optimizer', 'adamw', '--steps', '8'], /run\.json: field "optimizer\.name": this run was started with "adafactor"/],
      [['eval'], /--model is required/],
    ] as const) {
      const r = runCli([...argv], env);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.match(runCli(['pretrain', '--help']).stdout, /--lr-offset K/);
  });
});
