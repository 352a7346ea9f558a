// A plan job resumed after a kill may get another thread count than it started with, and a
// cached result must equal a fresh one: a training run must log the same numbers and end with
// the same bits on any thread count (docs/architecture.md#determinism). The kernel-level tests
// (test/engine/native/thread_invariance.test.ts) cover the ops; this covers whole runs, at the
// small shape the CLI tests use and at the default shape (preset s, batch 16, 128 tokens).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { nativeAddon, threadCount } from '../../src/engine/native';
import { configToJson } from '../../src/model/config';
import { readMetrics } from '../../src/training/metrics';
import { presetConfig } from '../../src/training/presets';
import { pretrain } from '../../src/training/pretrain';
import { resolvePretrainSettings, type PretrainSettings } from '../../src/training/settings';
import { NATIVE, TEST_BACKENDS } from '../helpers/backends';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

const THREADS = [1, 2, 3];

/** Every number a run logs, but for its clock. */
function loggedNumbers(runDir: string): unknown[] {
  const m = readMetrics(path.join(runDir, 'metrics.jsonl'));
  return [
    ...m.train.map(({ step, loss, lr, grad_norm, tokens }) => ({ step, loss, lr, grad_norm, tokens })),
    ...m.eval.map(({ step, val_loss, val_accuracy, val_tokens }) => ({ step, val_loss, val_accuracy, val_tokens })),
  ];
}

const fileBits = (runDir: string, file: string): Buffer => fs.readFileSync(path.join(runDir, 'final', file));

describe('a training run on 1, 2 and 3 threads', { skip: !TEST_BACKENDS.includes(NATIVE) && 'native backend not under test' }, () => {
  after(() => nativeAddon()?.setThreads(threadCount()));
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const tokenizerFile = path.join(temporaryDir(), 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  // The default tokenizer's 8192 ids, so the output layer has the shape real runs give it.
  const model = configToJson(presetConfig('s', 8192));

  const shapes: Array<{ name: string; values: Record<string, unknown> }> = [
    { name: 'small (batch 4, 32 tokens)', values: { batch_size: 4, input_length: 32, steps: 6, eval_every: 3 } },
    { name: 'default (batch 16, 128 tokens)', values: { steps: 2, eval_every: 2, eval_batches: 2 } },
  ];
  for (const shape of shapes) {
    test(`${shape.name}: the same losses, gradient norms, evaluations and final bits`, async () => {
      await initEngine(NATIVE);
      const addon = nativeAddon();
      assert.ok(addon);
      const root = temporaryDir();
      const runs = [];
      for (const threads of THREADS) {
        addon.setThreads(threads);
        const settings: PretrainSettings = resolvePretrainSettings([{
          source: 'test', values: {
            model, corpus: corpus.source, tokenizer: tokenizerFile, checkpoint_every: 0, seed: 3, dropout: 0.1,
            run: path.join(root, `threads-${threads}`), ...shape.values,
          },
        }]);
        const r = await pretrain(settings);
        runs.push({ threads, dir: r.runDir });
      }
      const [first, ...others] = runs;
      for (const other of others) {
        assert.deepEqual(loggedNumbers(other.dir), loggedNumbers(first.dir), `${other.threads} threads: logged numbers`);
        for (const file of ['model.safetensors', 'optimizer.safetensors']) {
          assert.ok(fileBits(other.dir, file).equals(fileBits(first.dir, file)), `${other.threads} threads: ${file}`);
        }
      }
    });
  }
});
