import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { collapseNorms } from '../../src/fusion/collapse';
import { fuse, planSelfFuse, selfFuse } from '../../src/fusion/fuse';
import { takesPairedNoise } from '../../src/fusion/noise';
import { logitsChange, logitsOf } from '../../src/fusion/verify';
import { loadModel, readJsonFile } from '../../src/io/checkpoint';
import { parseCase } from '../../src/model/case';
import { FIXTURE_NAMES, fixtureCase, fixtureModelDir } from '../helpers/fixtures';
import { compatibleConfigs, randomCase, randomModel, rngFor, tensorData } from './helpers';

describe('selfFuse', () => {
  before(async () => { await initEngine('cpu'); });

  for (const name of FIXTURE_NAMES) {
    test(`joint self-fusion of ${name} computes the source's logits`, () => {
      const source = loadModel(fixtureModelDir(name));
      const c = parseCase(readJsonFile(fixtureCase(name), 'case'), source.config, fixtureCase(name));
      const expected = logitsOf(source, c);
      for (const copies of [2, 3]) {
        const fused = selfFuse(source, { copies });
        assert.equal(fused.config.norm_groups, undefined, 'joint self-fusion is a plain T5');
        assert.equal(fused.config.d_model, copies * source.config.d_model);
        const err = logitsChange(logitsOf(fused, c), expected);
        assert.ok(err.maxAbs < 1e-4, `${copies} copies: ${JSON.stringify(err)}`);
      }
    });
  }

  test('paired noise leaves the function unchanged while the replicas differ', () => {
    for (let trial = 0; trial < 6; trial++) {
      const rng = rngFor(trial, 'paired');
      const [config] = compatibleConfigs(rng, 1, { grouped: trial >= 3 });
      const source = randomModel(config, trial);
      const c = randomCase(config, rng);
      const copies = trial % 3 === 2 ? 3 : 2;
      const plain = selfFuse(source, { copies });
      const noisy = selfFuse(source, { copies, noise: { kind: 'paired', std: 0.05 }, seed: trial });
      const err = logitsChange(logitsOf(noisy, c), logitsOf(source, c));
      assert.ok(err.maxAbs < 1e-4, `trial ${trial}: ${JSON.stringify(err)}`);

      const plan = planSelfFuse(config, { copies });
      let touched = 0;
      for (const t of plan.tensors) {
        const a = tensorData(noisy, t.name);
        const b = tensorData(plain, t.name);
        if (!takesPairedNoise(t)) {
          assert.deepEqual(a, b, `${t.name} has no off-diagonal block and stays as fused`);
          continue;
        }
        touched++;
        // Replica blocks on the diagonal now differ from each other.
        const [rows, cols] = t.parts[0].shape;
        const block = (i: number) => Array.from({ length: rows * cols },
          (_, j) => a[(i * rows + Math.floor(j / cols)) * t.shape[1] + i * cols + (j % cols)]);
        assert.notDeepEqual(block(0), block(1), `${t.name}: replicas 1 and 2 differ`);
      }
      assert.ok(touched > 0);
    }
  });

  test('noise is reproducible from the seed', () => {
    const [config] = compatibleConfigs(rngFor(3), 1);
    const source = randomModel(config, 3);
    const noise = { kind: 'paired', std: 0.1 } as const;
    const name = 'encoder.block.0.layer.0.SelfAttention.q.weight';
    const a = tensorData(selfFuse(source, { noise, seed: 1 }), name);
    assert.deepEqual(tensorData(selfFuse(source, { noise, seed: 1 }), name), a);
    assert.notDeepEqual(tensorData(selfFuse(source, { noise, seed: 2 }), name), a);
  });

  test('plain noise changes the function, by an amount that grows with its std', () => {
    const rng = rngFor(5, 'plain');
    const [config] = compatibleConfigs(rng, 1);
    const source = randomModel(config, 5);
    const c = randomCase(config, rng);
    const expected = logitsOf(source, c);
    const change = (std: number) =>
      logitsChange(logitsOf(selfFuse(source, { noise: { kind: 'plain', std }, seed: 9 }), c), expected).relative;
    const small = change(0.001);
    const large = change(0.1);
    assert.ok(small > 1e-6 && large > 10 * small, `small ${small}, large ${large}`);
  });

  test('a grouped source self-fuses with its groups repeated (exact)', () => {
    const rng = rngFor(8);
    const [config] = compatibleConfigs(rng, 1);
    config.norm_groups = [1, config.d_model - 1];
    const source = randomModel(config, 8);
    const fused = selfFuse(source);
    assert.deepEqual(fused.config.norm_groups, [...config.norm_groups, ...config.norm_groups]);
    const c = randomCase(config, rng);
    assert.ok(logitsChange(logitsOf(fused, c), logitsOf(source, c)).maxAbs < 1e-4);
  });

  test('copies must be an integer ≥ 2', () => {
    const [config] = compatibleConfigs(rngFor(1), 1);
    for (const copies of [1, 2.5]) assert.throws(() => planSelfFuse(config, { copies }), /copies must be an integer ≥ 2/);
  });
});

describe('collapseNorms', () => {
  before(async () => { await initEngine('cpu'); });

  test('drops the groups, keeps the weights and reports the change of the logits', () => {
    const rng = rngFor(21, 'collapse');
    const configs = compatibleConfigs(rng, 2);
    const models = configs.map((c, i) => randomModel(c, 30 + i));
    const c = randomCase(configs[0], rng);
    const fused = fuse(models);
    const { model, change } = collapseNorms(fused, c);
    assert.equal(model.config.norm_groups, undefined);
    assert.equal(model.params, fused.params);
    assert.ok(change.relative > 1e-3, `different sources: the function changes (${change.relative})`);
    // Replicas have equal RMS per group and overall, so a grouped self-fusion collapses exactly.
    const exact = collapseNorms(selfFuse(models[0], { norm: 'grouped' }), c).change;
    assert.ok(exact.maxAbs < 1e-4, JSON.stringify(exact));
    assert.throws(() => collapseNorms(models[0]), /has no "norm_groups", it is a plain T5 already/);
  });
});
