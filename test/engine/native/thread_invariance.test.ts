import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { nativeAddon, threadCount } from '../../../src/engine/native';
import { scoped } from '../../../src/engine/scope';
import { caseToBatch } from '../../../src/model/case';
import { makeConfig } from '../../../src/model/config';
import { initParams } from '../../../src/model/params';
import { lossAndGrads } from '../../../src/model/t5';
import { NATIVE } from '../../helpers/backends';
import { Rng } from '../../../src/util/rng';

// The plan runner gives a job as many threads as are free when it starts, so a resumed job may
// run on a different thread count than before: results must not depend on it, bit for bit.
after(() => nativeAddon()?.setThreads(threadCount()));

test('a T5 training step computes the same bits on 1, 2 and 3 threads', async () => {
  await initEngine(NATIVE);
  const addon = nativeAddon();
  assert.ok(addon, 'the native addon loads');
  // Large enough that every kernel splits its work across threads.
  const config = makeConfig({ vocab_size: 2000, d_model: 128, d_kv: 32, num_heads: 4, d_ff: 512, num_layers: 2 });
  const params = initParams(config, 5);
  const rng = Rng.fromSeed(9);
  const ids = (rows: number, len: number) => Array.from({ length: rows }, () => Array.from({ length: len }, () => 2 + rng.integer(1990)));
  const c = { input_ids: ids(8, 96), attention_mask: Array.from({ length: 8 }, () => new Array(96).fill(1)), labels: ids(8, 24), decoder_input_ids: ids(8, 24) };
  const bits = (threads: number): Uint32Array[] => {
    addon.setThreads(threads);
    return scoped(() => {
      const { loss, grads } = lossAndGrads(config, params, caseToBatch(c));
      return [loss, ...Object.values(grads)].map((t) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    });
  };
  const one = bits(1);
  for (const threads of [2, 3]) assert.deepEqual(bits(threads), one, `${threads} threads`);
});
