import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { collapseNormsCheckpoint, fuseCheckpoints, selfFuseCheckpoint } from '../../src/fusion/checkpoints';
import { planFuse, planSelfFuse } from '../../src/fusion/fuse';
import { fusionPlanOf, readFusionRecord } from '../../src/fusion/record';
import { FUSION_FILE, saveModel } from '../../src/io/checkpoint';
import { makeConfig } from '../../src/model/config';
import { temporaryDir } from '../helpers/tmp';
import { randomModel } from './helpers';

const A = makeConfig({ vocab_size: 30, d_model: 8, d_kv: 4, d_ff: 12, num_layers: 1, num_heads: 2, relative_attention_num_buckets: 8 });
const B = makeConfig({ ...A, d_model: 6, d_ff: 10, num_heads: 1 });

// The fusion record is what lets analyses find which block of a fused model came from which source.
describe('fusion.json', () => {
  const root = temporaryDir();
  const dir = (n: string) => path.join(root, n);
  before(async () => {
    await initEngine('cpu');
    await saveModel(dir('a'), randomModel(A, 1));
    await saveModel(dir('b'), randomModel(B, 2));
  });

  test('fuse writes it; the plan rebuilt from it is the plan that made the model', async () => {
    await fuseCheckpoints([dir('a'), dir('b')], dir('fused'), { weights: [0.3, 0.7] });
    const rebuilt = fusionPlanOf(dir('fused'))!;
    const original = planFuse([A, B], { weights: [0.3, 0.7] });
    assert.deepEqual(rebuilt.tensors, original.tensors);
    assert.deepEqual(rebuilt.weights, [0.3, 0.7]);
    assert.deepEqual(rebuilt.config.norm_groups, [8, 6]);
    assert.equal(readFusionRecord(dir('fused')).operator, 'fuse');
    assert.equal(fusionPlanOf(dir('a')), undefined, 'a model that was not fused has none');
  });

  test('self-fuse records its noise; collapse-norms keeps the record with joint norms', async () => {
    await selfFuseCheckpoint(dir('a'), dir('self'), { noise: { kind: 'paired', std: 0.01 }, seed: 3, norm: 'grouped' });
    const record = readFusionRecord(dir('self'));
    assert.deepEqual([record.operator, record.noise, record.seed, record.norm], ['self-fuse', 'paired:0.01', 3, 'grouped']);
    assert.deepEqual(fusionPlanOf(dir('self'))?.tensors, planSelfFuse(A, { norm: 'grouped' }).tensors);
    await collapseNormsCheckpoint(dir('self'), dir('collapsed'));
    assert.equal(readFusionRecord(dir('collapsed')).norm, 'joint');
    assert.deepEqual(fusionPlanOf(dir('collapsed'))?.tensors, planSelfFuse(A, { norm: 'joint' }).tensors);
  });

  test('a record that does not describe the model, or is damaged, is refused naming the file', () => {
    fs.copyFileSync(path.join(dir('self'), FUSION_FILE), path.join(dir('fused'), FUSION_FILE));
    assert.throws(() => fusionPlanOf(dir('fused')), /fusion\.json: describes a model with d_model 16, but .*config\.json has 14\. Fix: /);
    fs.writeFileSync(path.join(dir('fused'), FUSION_FILE), '{"sources": []}');
    assert.throws(() => fusionPlanOf(dir('fused')), /fusion\.json: needs "sources"/);
  });
});
