import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { sourceBlock } from '../../src/analysis/blocks';
import { describeTensor, REPLICAS_RECORD, replicaProbeFor, replicaStatsOf, statsByKind, tensorReplicaDistance } from '../../src/analysis/replicas';
import { initEngine } from '../../src/engine/backend';
import { fuseCheckpoints } from '../../src/fusion/checkpoints';
import { fuse, planFuse, planSelfFuse, selfFuse } from '../../src/fusion/fuse';
import { saveModel } from '../../src/io/checkpoint';
import { initParams } from '../../src/model/params';
import { disposeParams } from '../../src/model/params';
import { train } from '../../src/training/loop';
import { METRICS_FILE, readProbeRecords } from '../../src/training/metrics';
import { SGD_DEFAULTS } from '../../src/training/optimizers/sgd';
import { temporaryDir } from '../helpers/tmp';
import { TINY, tinyRun } from '../training/helpers/tiny_run';
import { randomModel } from '../fusion/helpers';
import { makeConfig } from '../../src/model/config';

const CONFIG = makeConfig({ vocab_size: 30, d_model: 8, d_kv: 4, d_ff: 12, num_layers: 2, num_heads: 2, relative_attention_num_buckets: 8 });

describe('replica statistics', () => {
  before(async () => { await initEngine('cpu'); });

  test('exact self-fusion: replicas at distance 0 and no off-diagonal weight; paired noise: the noise\'s distance', () => {
    const source = randomModel(CONFIG, 3);
    const exact = selfFuse(source);
    const s = replicaStatsOf(planSelfFuse(CONFIG), exact.params);
    assert.equal(s.distance, 0);
    assert.equal(s.off_diagonal, 0);
    assert.equal(s.grad_cos, null, 'no gradient given');
    const noisy = selfFuse(source, { noise: { kind: 'paired', std: 0.01 }, seed: 2 });
    const plan = planSelfFuse(CONFIG);
    const n = replicaStatsOf(plan, noisy.params);
    assert.ok((n.distance as number) > 0 && (n.off_diagonal as number) > 0);
    // One tensor by hand: ‖B₁ − B₂‖ / rms(‖B₁‖, ‖B₂‖) of the q projection of layer 0.
    const name = 'encoder.block.0.layer.0.SelfAttention.q.weight';
    const t = plan.tensors.find((x) => x.name === name)!;
    const data = noisy.params[name].dataSync();
    const [a, b] = [sourceBlock(t, 0), sourceBlock(t, 1)];
    let dd = 0;
    let ss = 0;
    for (let r = 0; r < a.rows; r++) {
      for (let c = 0; c < a.cols; c++) {
        const x = data[(a.row0 + r) * a.stride + a.col0 + c];
        const y = data[(b.row0 + r) * b.stride + b.col0 + c];
        dd += (x - y) ** 2;
        ss += (x * x + y * y) / 2;
      }
    }
    assert.ok(Math.abs((n.tensors[name][0] as number) - Math.sqrt(dd / ss)) < 1e-12);
    assert.equal(tensorReplicaDistance(t, data), n.tensors[name][0]);
    for (const m of [source, exact, noisy]) disposeParams(m.params);
  });

  test('fusion\'s scales are undone: a model fused with itself at weights 0.3 / 0.7 has replicas at distance 0', () => {
    const source = randomModel(CONFIG, 4);
    const fused = fuse([source, source], { weights: [0.3, 0.7] });
    const s = replicaStatsOf(planFuse([CONFIG, CONFIG], { weights: [0.3, 0.7] }), fused.params);
    assert.ok((s.distance as number) < 1e-6, String(s.distance));
    assert.equal(s.off_diagonal, 0, 'grouped fusion leaves the off-diagonal blocks zero');
    disposeParams(source.params);
    disposeParams(fused.params);
  });

  test('sources of different widths have no distance, but off-diagonal norms', () => {
    const other = makeConfig({ ...CONFIG, d_model: 6, d_ff: 10, num_heads: 1 });
    const [a, b] = [randomModel(CONFIG, 1), randomModel(other, 2)];
    const fused = fuse([a, b]);
    const s = replicaStatsOf(planFuse([CONFIG, other]), fused.params);
    assert.equal(s.distance, null);
    assert.equal(s.off_diagonal, 0);
    for (const m of [a, b, fused]) disposeParams(m.params);
  });

  test('tensor kinds for tables and figures', () => {
    assert.deepEqual(describeTensor('encoder.block.3.layer.1.DenseReluDense.wi_0.weight'), { layer: 3, kind: 'encoder ffn wi_0' });
    assert.deepEqual(describeTensor('decoder.block.0.layer.1.EncDecAttention.k.weight'), { layer: 0, kind: 'decoder cross-attn k' });
    assert.deepEqual(describeTensor('decoder.block.1.layer.2.layer_norm.weight'), { layer: 1, kind: 'decoder norm 2' });
    assert.deepEqual(describeTensor('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'), { layer: 0, kind: 'encoder relative bias' });
    assert.deepEqual(describeTensor('decoder.final_layer_norm.weight'), { layer: null, kind: 'decoder final norm' });
    assert.deepEqual(describeTensor('shared.weight'), { layer: null, kind: 'embedding' });
    assert.deepEqual(statsByKind({
      'encoder.block.0.layer.1.DenseReluDense.wo.weight': [0.1, 1, 0], 'encoder.block.1.layer.1.DenseReluDense.wo.weight': [0.3, null, 0.2],
    }), { 'encoder ffn wo': [0.2, 1, 0.1] });
  });
});

describe('replica tracking while training (track_replicas_every)', () => {
  before(async () => { await initEngine('cpu'); });

  test('logs every N steps from step 0 (right after fusion), resumes without repeating a record, logs the SGD regulariser', async () => {
    const root = temporaryDir();
    const dirs = [1, 2].map((seed) => path.join(root, `small-${seed}`));
    for (const [i, dir] of dirs.entries()) await saveModel(dir, { config: TINY, params: initParams(TINY, i + 1) });
    const fused = path.join(root, 'fused');
    await fuseCheckpoints(dirs, fused);
    const run = path.join(root, 'run');
    const options = (steps: number) => tinyRun(run, {
      init: { from: fused, optimizerState: 'reset' }, optimizer: SGD_DEFAULTS, schedule: { kind: 'constant', lr: 0.5, warmup: 0 },
      steps, checkpoint_every: 2, track_replicas_every: 2, probe: replicaProbeFor(fused, 2),
    });
    await train(options(4));
    await train(options(7));
    const records = readProbeRecords(path.join(run, METRICS_FILE), REPLICAS_RECORD);
    assert.deepEqual(records.map((r) => r.step), [0, 2, 4, 6]);
    assert.equal(records[0].off_diagonal, 0, 'a grouped fusion starts block-diagonal');
    assert.ok((records[3].off_diagonal as number) > 0, 'training fills the off-diagonal blocks');
    assert.ok(Object.keys(records[0].tensors as object).length > 10);
    const lines = fs.readFileSync(path.join(run, METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const trainLines = lines.filter((l) => l.type === 'train');
    assert.equal(trainLines.length, 7);
    for (const l of trainLines) assert.ok(Math.abs(l.implicit_reg - (l.lr / 4) * l.grad_norm ** 2) < 1e-9 * (1 + l.implicit_reg));
    assert.equal(replicaProbeFor(fused, 0), undefined, 'off when the interval is 0');
    assert.equal(replicaProbeFor(dirs[0], 2), undefined, 'and for a model that was not fused');
  });
});
