import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import {
  collapseNormsCheckpoint, fuseCheckpoints, selfFuseCheckpoint, verifyCheckpoint,
} from '../../src/fusion/checkpoints';
import { fuse, selfFuse } from '../../src/fusion/fuse';
import { carryOptimizerState } from '../../src/fusion/optimizer_state';
import { planFuse } from '../../src/fusion/fuse';
import { loadModel, readJsonFile, saveModel, TOKENIZER_FILE, type Model } from '../../src/io/checkpoint';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { configToJson, makeConfig } from '../../src/model/config';
import type { OptimizerSlot, OptimizerState } from '../../src/training/optimizers/types';
import { tf } from '../../src/engine/tf';
import { compatibleConfigs, randomCase, randomModel, rngFor, tensorData } from './helpers';
import { temporaryDir } from '../helpers/tmp';

const ADAMW: OptimizerSlot[] = [
  { prefix: 'm', layout: 'like-param', order: 1, appliesTo: () => true },
  { prefix: 'v', layout: 'like-param', order: 2, appliesTo: () => true },
];

function assertSameModel(a: Model, b: Model): void {
  assert.deepEqual(configToJson(a.config), configToJson(b.config));
  assert.deepEqual(Object.keys(a.params).sort(), Object.keys(b.params).sort());
  for (const name of Object.keys(a.params)) assert.deepEqual(tensorData(a, name), tensorData(b, name), name);
}

/** Optimizer files as the trainer writes them: optimizer.safetensors + optimizer.json. */
function saveOptimizerState(dir: string, state: OptimizerState): void {
  writeSafetensors(path.join(dir, 'optimizer.safetensors'), Object.entries(state.tensors)
    .map(([name, t]) => ({ name, shape: [...t.shape], data: t.dataSync() as Float32Array })));
  fs.writeFileSync(path.join(dir, 'optimizer.json'), JSON.stringify({ name: state.name, step: state.step, hyperparameters: {} }));
}

describe('fusion of checkpoint directories (streamed)', () => {
  let root: string;
  const dir = (name: string) => path.join(root, name);
  const rng = rngFor(11, 'checkpoints');
  const configs = compatibleConfigs(rng, 3);
  const models = configs.map((c, i) => randomModel(c, 50 + i));

  before(async () => {
    await initEngine('cpu');
    root = temporaryDir('deepfusion-fusion-');
    for (const [i, m] of models.entries()) await saveModel(dir(`s${i}`), m);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('fuse streams to the same model the in-memory fusion builds, and it loads', async () => {
    for (const norm of ['grouped', 'joint'] as const) {
      const weights = [0.2, 0.3, 0.5];
      const result = await fuseCheckpoints([dir('s0'), dir('s1'), dir('s2')], dir(`f-${norm}`), { weights, norm });
      const loaded = loadModel(dir(`f-${norm}`));
      assertSameModel(loaded, fuse(models, { weights, norm }));
      assert.equal(result.parameters, Object.values(loaded.params).reduce((n, t) => n + t.size, 0));
      const json = readJsonFile(path.join(dir(`f-${norm}`), 'config.json'), 'config') as Record<string, unknown>;
      assert.equal('norm_groups' in json, norm === 'grouped', 'joint fusion writes a plain HF T5 config');
      const c = randomCase(configs[0], rng);
      const err = verifyCheckpoint(dir(`f-${norm}`), [0, 1, 2].map((i) => ({ dir: dir(`s${i}`), weight: weights[i] })), c);
      if (norm === 'grouped') assert.ok(err.maxAbs < 1e-4 && err.relative < 1e-5, JSON.stringify(err));
      else assert.ok(err.relative > 1e-3, 'joint fusion of different sources is approximate');
    }
  });

  test('self-fuse streams to the in-memory self-fusion, noise included', async () => {
    const noise = { kind: 'paired', std: 0.02 } as const;
    await selfFuseCheckpoint(dir('s1'), dir('self'), { copies: 3, noise, seed: 4 });
    assertSameModel(loadModel(dir('self')), selfFuse(models[1], { copies: 3, noise, seed: 4 }));
    const err = verifyCheckpoint(dir('self'), [{ dir: dir('s1'), weight: 1 }], randomCase(configs[1], rng));
    assert.ok(err.maxAbs < 1e-4, JSON.stringify(err));
  });

  test('the tokenizer travels; different or missing tokenizers are refused', async () => {
    for (const i of [0, 1]) fs.writeFileSync(path.join(dir(`s${i}`), TOKENIZER_FILE), '{"model": "same"}');
    const result = await fuseCheckpoints([dir('s0'), dir('s1')], dir('tok'));
    assert.equal(fs.readFileSync(path.join(dir('tok'), TOKENIZER_FILE), 'utf8'), '{"model": "same"}');
    assert.ok(result.tokenizer);

    fs.writeFileSync(path.join(dir('s1'), TOKENIZER_FILE), '{"model": "other"}');
    await assert.rejects(fuseCheckpoints([dir('s0'), dir('s1')], dir('tok2')), /tokenizer.json: differs from/);
    fs.rmSync(path.join(dir('s1'), TOKENIZER_FILE));
    await assert.rejects(fuseCheckpoints([dir('s0'), dir('s1')], dir('tok2')), /has no tokenizer.json but/);
    assert.ok(!fs.existsSync(dir('tok2')));
    fs.rmSync(path.join(dir('s0'), TOKENIZER_FILE));
  });

  test('a failure midway leaves no output directory and no temporary files behind', async () => {
    const weights = path.join(dir('s1'), 'model.safetensors');
    const original = fs.readFileSync(weights);
    // Mark the last tensor I32 (same size): the header still validates, reading it fails midway.
    const headerLength = Number(original.readBigUInt64LE(0));
    const header = original.subarray(8, 8 + headerLength).toString('utf8');
    const last = header.lastIndexOf('"dtype":"F32"');
    const broken = Buffer.from(original);
    broken.write('"dtype":"I32"', 8 + Buffer.byteLength(header.slice(0, last)), 'utf8');
    fs.writeFileSync(weights, broken);
    try {
      await assert.rejects(fuseCheckpoints([dir('s0'), dir('s1')], dir('broken')), /has dtype I32/);
    } finally {
      fs.writeFileSync(weights, original);
    }
    assert.ok(!fs.existsSync(dir('broken')));
    assert.deepEqual(fs.readdirSync(root).filter((f) => f.includes('.tmp-')), []);
  });

  test('an incompatible source is refused naming its config file', async () => {
    const other = makeConfig({ ...configs[0], vocab_size: configs[0].vocab_size + 1 });
    await saveModel(dir('other'), randomModel(other, 9));
    await assert.rejects(fuseCheckpoints([dir('s0'), dir('other')], dir('x')),
      (err: Error) => err.message.includes(path.join(dir('other'), 'config.json')) && err.message.includes('"vocab_size"'));
  });

  test('carry: the optimizer state is placed like in memory and travels with step and name', async () => {
    const states = [0, 1].map((i) => ({
      name: 'adamw' as const, step: 10 + i,
      tensors: Object.fromEntries(Object.entries(models[i].params).flatMap(([n, t]) =>
        ADAMW.map((s) => [`${s.prefix}.${n}`, tf.randomUniform(t.shape, 0, 1, 'float32', n.length + i)]))),
    }));
    states.forEach((s, i) => saveOptimizerState(dir(`s${i}`), s));
    const result = await fuseCheckpoints([dir('s0'), dir('s1')], dir('carry'),
      { optimizer: { mode: 'carry', slotsFor: () => ADAMW } });
    assert.equal(result.optimizer?.step, 11);
    const meta = readJsonFile(path.join(dir('carry'), 'optimizer.json'), 'meta') as { name: string; step: number };
    assert.deepEqual([meta.name, meta.step], ['adamw', 11]);
    const expected = carryOptimizerState(planFuse([configs[0], configs[1]]), ADAMW, states);
    const written = readSafetensors(path.join(dir('carry'), 'optimizer.safetensors'));
    assert.deepEqual([...written.keys()].sort(), Object.keys(expected.tensors).sort());
    for (const [key, t] of Object.entries(expected.tensors)) assert.deepEqual(written.get(key)?.data, t.dataSync(), key);

    await assert.rejects(fuseCheckpoints([dir('s0'), dir('s2')], dir('carry2'), { optimizer: { mode: 'carry', slotsFor: () => ADAMW } }),
      /s2: has no optimizer.json to carry/);
    assert.ok(!fs.existsSync(path.join(dir('f-grouped'), 'optimizer.json')), 'reset writes no optimizer state');
  });

  test('collapse-norms drops the groups and keeps the weights', async () => {
    await collapseNormsCheckpoint(dir('f-grouped'), dir('collapsed'));
    const grouped = loadModel(dir('f-grouped'));
    const plain = loadModel(dir('collapsed'));
    assert.equal(plain.config.norm_groups, undefined);
    for (const name of Object.keys(grouped.params)) assert.deepEqual(tensorData(plain, name), tensorData(grouped, name));
    const change = verifyCheckpoint(dir('collapsed'), [{ dir: dir('f-grouped'), weight: 1 }], randomCase(configs[0], rng));
    assert.ok(change.relative > 0);
    await assert.rejects(collapseNormsCheckpoint(dir('s0'), dir('collapsed2')), /has no "norm_groups", it is a plain T5 already/);
  });
});
