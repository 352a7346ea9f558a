import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { optimizerTransfer } from '../../src/fusion/optimizer_transfer';
import { initEngine } from '../../src/engine/backend';
import { fuseCheckpoints, selfFuseCheckpoint } from '../../src/fusion/checkpoints';
import { readJsonFile } from '../../src/io/checkpoint';
import { train } from '../../src/training/loop';
import { ADAFACTOR_DEFAULTS } from '../../src/training/optimizers/adafactor';
import { TINY, tinyRun } from './helpers/tiny_run';
import { temporaryDir } from '../helpers/tmp';

// The path the plans take: train small models, fuse them carrying Adafactor's factored moments,
// continue training the fused model from its directory.
describe('training → fusion (carry) → training', () => {
  let root: string;
  const dir = (name: string): string => path.join(root, name);
  before(async () => {
    await initEngine('cpu');
    root = temporaryDir('df-fusion-train-');
    const optimizer = { ...ADAFACTOR_DEFAULTS, beta1: 0.9 };
    for (const seed of [1, 2]) await train(tinyRun(dir(`small-${seed}`), { init: { config: TINY, seed }, optimizer, steps: 4 + seed }));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a self-fused model (joint norms) continues with carried state from where its source stood', async () => {
    const source = path.join(dir('small-1'), 'final');
    await selfFuseCheckpoint(source, dir('self-fused'), { optimizer: optimizerTransfer('carry') });
    const r = await train(tinyRun(dir('after-self'), {
      init: { from: dir('self-fused'), optimizerState: 'carry' }, optimizer: { ...ADAFACTOR_DEFAULTS, beta1: 0.9 }, steps: 2,
    }));
    const sourceEval = (readJsonFile(path.join(source, 'trainer_state.json'), 'state') as { evals: Array<{ val_loss: number }> }).evals.at(-1)!;
    assert.ok(Math.abs(r.evals[0].val_loss - sourceEval.val_loss) < 1e-4, `${r.evals[0].val_loss} vs ${sourceEval.val_loss}`);
    assert.ok(Number.isFinite(r.lastTrain!.loss));
    const meta = readJsonFile(path.join(r.finalDir, 'optimizer.json'), 'meta') as { step: number };
    assert.equal(meta.step, 5 + 2);
  });

  test('two different small models fused with carried state train on; a mismatched optimizer is refused', async () => {
    await fuseCheckpoints([path.join(dir('small-1'), 'final'), path.join(dir('small-2'), 'final')], dir('fused'),
      { optimizer: optimizerTransfer('carry') });
    const r = await train(tinyRun(dir('after-fuse'), {
      init: { from: dir('fused'), optimizerState: 'carry' }, optimizer: { ...ADAFACTOR_DEFAULTS, beta1: 0.9 }, steps: 3,
    }));
    assert.ok(r.evals.every((e) => Number.isFinite(e.val_loss)));
    // The carried step is the most advanced source's (6), so Adafactor's β2 schedule continues from there.
    assert.equal((readJsonFile(path.join(r.finalDir, 'optimizer.json'), 'meta') as { step: number }).step, 6 + 3);
    await assert.rejects(train(tinyRun(dir('wrong-optimizer'), { init: { from: dir('fused'), optimizerState: 'carry' }, steps: 1 })),
      /optimizer\.safetensors: tensor "m\..*" belongs to no parameter and slot/);
  });
});
