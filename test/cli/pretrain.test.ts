import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { readMetrics } from '../../src/training/metrics';
import { runCli } from '../helpers/cli';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

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

  test('a changed --lr on resume names --lr', () => {
    const r = runCli([...args.slice(0, -2), '--run', run, '--steps', '8', '--lr', '0.05'], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /run\.json: field "schedule\.(base|lr)": \(set by --lr \/ "lr"\) this run was started with .*Fix: repeat the original --lr/);
  });

  test('a model\'s tokenizer travels with it: --from uses it, and refuses another', () => {
    const final = path.join(run, 'final');
    // Another tokenizer: trained on fewer chapters, so the same ids mean other pieces.
    const other = path.join(temporaryDir(), 'other-tokenizer.json');
    const t = runCli(['tokenizer', 'train', '--corpus', path.join(corpus.source, 'chapter-001.txt'), '--vocab', '300', '-o', other], env);
    assert.equal(t.status, 0, t.stderr);
    const refusedRun = path.join(temporaryDir(), 'refused');
    const r = runCli(['pretrain', '--from', final, '--corpus', corpus.source, '--tokenizer', other, '--input-len', '32', '--batch', '4',
      '--steps', '1', '--run', refusedRun], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`other-tokenizer\\.json: is not the tokenizer the model in .*final was trained with .*Fix: leave the tokenizer out`));
    assert.equal(fs.existsSync(refusedRun), false, 'nothing was written');
    const evalOther = runCli(['eval', '--model', final, '--corpus', corpus.source, '--tokenizer', other], env);
    assert.equal(evalOther.status, 2, evalOther.stderr);
    assert.match(evalOther.stderr, /is not the tokenizer the model in/);

    // Without --tokenizer, on another corpus: the model's own tokenizer, not one trained on that corpus.
    const continued = path.join(temporaryDir(), 'continued-own');
    const c = runCli(['pretrain', '--from', final, '--corpus', path.join(corpus.source, 'chapter-002.txt'), '--input-len', '32', '--batch', '4',
      '--eval-batches', '1', '--steps', '1', '--run', continued], env);
    assert.equal(c.status, 0, c.stderr);
    assert.doesNotMatch(c.stderr, /^tokenizer: .* trained on corpus/m);
    assert.ok(fs.readFileSync(path.join(continued, 'final', 'tokenizer.json')).equals(fs.readFileSync(path.join(final, 'tokenizer.json'))));
  });

  test('a bad model, run directory or corpus is refused before any data is prepared, leaving nothing behind', () => {
    const cache = temporaryDir();
    const where = temporaryDir();
    const file = path.join(where, 'a-file');
    fs.writeFileSync(file, 'mine');
    const oneLine = path.join(where, 'one-line.txt');
    fs.writeFileSync(oneLine, `${'word '.repeat(50_000)}\n`);
    for (const [argv, message] of [
      [['pretrain', '--from', path.join(where, 'missing'), '--run', path.join(where, 'r1')], /missing: does not exist\. Fix: pass a model directory/],
      [['eval', '--model', path.join(where, 'missing')], /missing: does not exist/],
      [['pretrain', '--preset', 'tiny', '--run', file], /a-file: is a file, so it cannot hold a training run/],
      [['pretrain', '--preset', 'tiny', '--run', path.join(file, 'below')], /a-file: is a file, so it cannot hold a training run/],
      [['pretrain', '--preset', 'tiny', '--corpus', oneLine, '--run', path.join(where, 'r2')],
        /corpus .*one-line\.txt holds 1 document\(s\), so it has no validation documents\. Fix: give a corpus of at least two documents/],
    ] as const) {
      const r = runCli([...argv], { DEEPFUSION_CACHE: cache });
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(fs.readdirSync(cache), [], 'no tokenizer was trained, no corpus tokenized');
    assert.deepEqual(fs.readdirSync(where).sort(), ['a-file', 'one-line.txt'], 'no run directory was made');
  });

  test('a model with NaN weights is refused by eval, fuse and pretrain --from, naming the tensor', async () => {
    const final = path.join(run, 'final');
    const poisoned = path.join(temporaryDir(), 'nan-model');
    fs.mkdirSync(poisoned);
    for (const f of fs.readdirSync(final)) fs.copyFileSync(path.join(final, f), path.join(poisoned, f));
    const weights = readSafetensors(path.join(poisoned, 'model.safetensors'));
    const name = 'decoder.block.0.layer.0.SelfAttention.q.weight';
    (weights.get(name) as { data: Float32Array }).data[3] = NaN;
    writeSafetensors(path.join(poisoned, 'model.safetensors'), [...weights.values()]);
    const tensor = new RegExp(`model\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" holds 1 non-finite value \\(NaN at index 3\\)`);
    for (const argv of [
      ['eval', '--model', poisoned, ...data.filter((a) => a !== '--batch' && a !== '4')],
      ['fuse', poisoned, final, '-o', path.join(temporaryDir(), 'fused')],
      ['pretrain', '--from', poisoned, ...data, '--steps', '1', '--run', path.join(temporaryDir(), 'from-nan')],
    ]) {
      const r = runCli(argv, env);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, tensor);
    }
    const noisy = runCli(['self-fuse', final, '-o', path.join(temporaryDir(), 'noisy'), '--noise', 'plain:1e308'], env);
    assert.equal(noisy.status, 2, noisy.stderr);
    assert.match(noisy.stderr, /holds \d+ non-finite values .*Fix: lower the noise/);
  });
});
