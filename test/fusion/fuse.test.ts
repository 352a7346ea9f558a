import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { fuse } from '../../src/fusion/fuse';
import { logitsChange, logitsOf } from '../../src/fusion/verify';
import type { Model } from '../../src/io/checkpoint';
import { makeConfig } from '../../src/model/config';
import { maxAbsError } from '../helpers/compare';
import { compatibleConfigs, randomCase, randomModel, randomWeights, rngFor, tensorData } from './helpers';

function mixture(models: Model[], weights: number[], c: ReturnType<typeof randomCase>): Float64Array {
  const logits = models.map((m) => logitsOf(m, c));
  const out = new Float64Array(logits[0].length);
  logits.forEach((l, i) => l.forEach((x, j) => { out[j] += weights[i] * x; }));
  return out;
}

describe('fuse', () => {
  before(async () => { await initEngine('cpu'); });

  test('grouped fusion: logits equal Σ w_i·logits_i over random compatible sources', () => {
    for (let trial = 0; trial < 16; trial++) {
      const rng = rngFor(trial, 'fuse-property');
      const k = trial % 4 === 3 ? 3 : 2;
      const configs = compatibleConfigs(rng, k, { grouped: trial >= 8 });
      const models = configs.map((c, i) => randomModel(c, 100 * trial + i));
      const weights = trial % 2 === 0 ? randomWeights(rng, k) : configs.map(() => 1 / k);
      const fused = fuse(models, { weights });
      const c = randomCase(configs[0], rng);
      const err = logitsChange(logitsOf(fused, c), mixture(models, weights, c));
      const what = `trial ${trial}: k=${k} d=${configs.map((x) => x.d_model)} heads=${configs.map((x) => x.num_heads)} ` +
        `${configs[0].feed_forward_proj} tied=${configs[0].tie_word_embeddings} groups=${JSON.stringify(fused.config.norm_groups)}`;
      assert.ok(err.relative < 1e-5 && err.maxAbs < 1e-4, `${what}: ${JSON.stringify(err)}`);
    }
  });

  test('the fused config adds widths and concatenates the sources\' norm groups', () => {
    const [a, b, c] = compatibleConfigs(rngFor(1), 3);
    b.norm_groups = [1, b.d_model - 1];
    const fused = fuse([a, b, c].map((x, i) => randomModel(x, i))).config;
    assert.equal(fused.d_model, a.d_model + b.d_model + c.d_model);
    assert.equal(fused.num_heads, a.num_heads + b.num_heads + c.num_heads);
    assert.equal(fused.d_ff, a.d_ff + b.d_ff + c.d_ff);
    assert.deepEqual(fused.norm_groups, [a.d_model, 1, b.d_model - 1, c.d_model]);
    assert.equal(fuse([a, c].map((x, i) => randomModel(x, i)), { norm: 'joint' }).config.norm_groups, undefined);
  });

  // The table of docs/fusion.md, rebuilt with tfjs ops (an implementation independent of place.ts).
  for (const tied of [false, true]) {
    test(`weights follow the table of docs/fusion.md (${tied ? 'tied' : 'untied'})`, () => {
      const common = { vocab_size: 11, d_kv: 2, num_layers: 1, tie_word_embeddings: tied, feed_forward_proj: 'relu' as const };
      const a = randomModel(makeConfig({ ...common, d_model: 4, num_heads: 2, d_ff: 3 }), 1);
      const b = randomModel(makeConfig({ ...common, d_model: 6, num_heads: 1, d_ff: 5 }), 2);
      const w = [0.3, 0.7];
      const fused = fuse([a, b], { weights: w });
      const blockdiag = (x: tf.Tensor, y: tf.Tensor) => tf.concat([
        tf.concat([x, tf.zeros([x.shape[0], y.shape[1] as number])], 1),
        tf.concat([tf.zeros([y.shape[0], x.shape[1] as number]), y], 1)], 0);
      const expect = (name: string, t: tf.Tensor) => assert.deepEqual(tensorData(fused, name), t.dataSync(), name);
      // tfjs scales in float32, fusion in float64 before rounding: equal up to one rounding.
      const expectScaled = (name: string, t: tf.Tensor) => assert.ok(maxAbsError(tensorData(fused, name), t.dataSync()) < 1e-6, name);
      for (const [name, t] of Object.entries(fused.params)) {
        const [pa, pb] = [a.params[name], b.params[name]];
        if (name === 'shared.weight' || name.endsWith('relative_attention_bias.weight')) expect(name, tf.concat([pa, pb], 1));
        else if (name === 'lm_head.weight') expectScaled(name, tf.concat([tf.mul(pa, w[0]), tf.mul(pb, w[1])], 1));
        else if (name === 'decoder.final_layer_norm.weight' && tied) {
          expectScaled(name, tf.concat([tf.mul(pa, w[0] * Math.sqrt(10 / 4)), tf.mul(pb, w[1] * Math.sqrt(10 / 6))]));
        } else if (t.rank === 1) expect(name, tf.concat([pa, pb]));
        else expect(name, blockdiag(pa, pb));
      }
      assert.equal('lm_head.weight' in fused.params, !tied);
    });
  }
});
