import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initEngine } from '../src/engine/backend';
import { loadModel, readJsonFile } from '../src/io/checkpoint';
import { readSafetensors } from '../src/io/safetensors';
import { parseCase, runCase } from '../src/model/case';
import { TEST_BACKENDS } from './helpers/backends';
import { assertClose } from './helpers/compare';
import { FIXTURE_NAMES, fixtureCase, fixtureExpected, fixtureModelDir } from './helpers/fixtures';


for (const backend of TEST_BACKENDS) {
  for (const name of FIXTURE_NAMES) {
    describe(`golden ${name} on ${backend}`, () => {
      before(async () => { await initEngine(backend); });

      test('logits, encoder output, loss and every gradient match the float64 reference', () => {
        const { config, params } = loadModel(fixtureModelDir(name));
        const c = parseCase(readJsonFile(fixtureCase(name), 'case'), config, fixtureCase(name));
        const ours = new Map(runCase(config, params, c, { grads: true }).map((o) => [o.name, o]));
        const expected = readSafetensors(fixtureExpected(name));
        assert.deepEqual([...ours.keys()].sort(), [...expected.keys()].sort());
        for (const [key, ref] of expected) {
          const mine = ours.get(key)!;
          assert.deepEqual(mine.shape, ref.shape, `${key} shape`);
          assertClose(mine.data, ref.data, key.startsWith('grad.') ? 1e-4 : 1e-5, key);
        }
      });
    });
  }
}
