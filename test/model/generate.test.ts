import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { tf, type Tensor } from '../../src/engine/tf';
import { makeConfig } from '../../src/model/config';
import { generate } from '../../src/model/generate';
import { initParams, type Params } from '../../src/model/params';
import { loss, shiftRight } from '../../src/model/t5';

before(async () => { await initEngine(process.env.DEEPFUSION_BACKEND ?? 'cpu'); });

test('generate reproduces the input of a tiny T5 trained to copy', () => {
  const config = makeConfig({ vocab_size: 16, d_model: 32, d_kv: 8, num_heads: 4, d_ff: 64, num_layers: 2 });
  const params: Params = {};
  for (const [name, t] of Object.entries(initParams(config, 7))) params[name] = tf.variable(t);
  let seed = 1;
  const rand = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  const rows = (n: number) => Array.from({ length: n }, () => [...Array.from({ length: 4 }, () => 3 + Math.floor(rand() * 13)), 1]);
  const optimizer = tf.train.adam(0.01);
  // Train until the copy is learned (deterministic: same seeds, same arithmetic), at most 800 steps.
  for (let step = 0, last = Infinity; step < 800 && last > 0.01; step++) {
    const ids = rows(32);
    last = tf.tidy(() => {
      const batch = {
        inputIds: tf.tensor2d(ids, undefined, 'int32'),
        attentionMask: tf.ones([ids.length, ids[0].length]),
        decoderInputIds: tf.tensor2d(shiftRight(ids, config), undefined, 'int32'),
        labels: tf.tensor2d(ids, undefined, 'int32'),
      };
      return (optimizer.minimize(() => loss(config, params, batch) as tf.Scalar, true) as Tensor).dataSync()[0];
    });
  }
  const probe = rows(8);
  const out = generate(config, params, probe, { maxLength: 10 });
  assert.deepEqual(out, probe, 'greedy decoding copies the input, stopping at EOS');
  const short = generate(config, params, probe.slice(0, 2), { maxLength: 3 });
  assert.deepEqual(short, probe.slice(0, 2).map((r) => r.slice(0, 3)), 'stops at maxLength');
  optimizer.dispose();
  Object.values(params).forEach((t: Tensor) => t.dispose());
});
