import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tf } from '../../src/engine/tf';
import { makeConfig } from '../../src/model/config';
import { disposeParams, initParams } from '../../src/model/params';

describe('initParams', () => {
  test('is reproducible for every seed, 0 included (tfjs reads seed 0 as "unseeded")', () => {
    const config = makeConfig({ vocab_size: 11, d_model: 4, d_kv: 2, d_ff: 8, num_layers: 1, num_heads: 2 });
    for (const seed of [0, 1]) {
      const a = initParams(config, seed);
      const b = initParams(config, seed);
      for (const name of Object.keys(a)) assert.deepEqual(a[name].dataSync(), b[name].dataSync(), `${name}, seed ${seed}`);
      disposeParams(a);
      disposeParams(b);
    }
    assert.equal(tf.memory().numTensors, 0);
  });
});
