import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { ConfigError, UserError } from '../../src/errors';
import { buildBatch, IGNORED_LABEL, toSeq2SeqBatch } from '../../src/data/batch';
import { tf } from '../../src/engine/tf';
import { makeConfig } from '../../src/model/config';
import { disposeParams, initParams } from '../../src/model/params';
import { loss } from '../../src/model/t5';
import type { Corpus } from '../../src/data/corpus';
import { openTrainStream, validationBatches, type StreamOptions } from '../../src/data/stream';
import type { ExampleBatch } from '../../src/data/types';
import { smallCorpusAndTokenizer, SMALL_VOCAB } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

const take = (stream: { next(): ExampleBatch }, n: number) => Array.from({ length: n }, () => stream.next());

describe('buildBatch', () => {
  test('pads inputs with 0 (mask 0) and labels with −100; decoder inputs are labels shifted right from 0', () => {
    const b = buildBatch([{ inputs: [5, 6, 1], targets: [9, 7, 1] }, { inputs: [8, 1], targets: [9, 1] }], 4, 4, 0);
    assert.deepEqual([b.batchSize, b.inputLength, b.targetLength], [2, 4, 4]);
    assert.deepEqual([...b.inputIds], [5, 6, 1, 0, 8, 1, 0, 0]);
    assert.deepEqual([...b.attentionMask], [1, 1, 1, 0, 1, 1, 0, 0]);
    assert.deepEqual([...b.labels], [9, 7, 1, IGNORED_LABEL, 9, 1, IGNORED_LABEL, IGNORED_LABEL]);
    assert.deepEqual([...b.decoderInputIds], [0, 9, 7, 1, 0, 9, 1, 0]);
    assert.throws(() => buildBatch([{ inputs: [1, 2, 3], targets: [1] }], 2, 2, 0), /more than the batch/);
  });

  test('toSeq2SeqBatch gives int32 / float32 tensors of the batch shapes', async () => {
    await initEngine('cpu');
    const t = toSeq2SeqBatch(buildBatch([{ inputs: [5, 1], targets: [9, 1] }], 3, 2, 0));
    assert.deepEqual([t.inputIds.shape, t.inputIds.dtype, t.attentionMask.dtype, t.decoderInputIds.shape, t.labels!.dtype],
      [[1, 3], 'int32', 'float32', [1, 2], 'int32']);
    assert.deepEqual(await t.labels!.data(), Int32Array.from([9, 1]));
    for (const x of [t.inputIds, t.attentionMask, t.decoderInputIds, t.labels!]) x.dispose();
  });
});

describe('span-corruption stream on a small real corpus', () => {
  let base: StreamOptions;
  before(() => {
    const { corpus, tokenizer } = smallCorpusAndTokenizer();
    base = { corpus, tokenizer, inputLength: 64, batchSize: 4, cacheDir: temporaryDir() };
  });

  test('builds full batches: inputs of exactly 64 ids ending in EOS, 14 labels, ids in the vocabulary', async () => {
    const stream = await openTrainStream({ ...base, seed: 1 });
    for (const b of take(stream, 20)) {
      assert.deepEqual([b.batchSize, b.inputLength, b.targetLength], [4, 64, 14]);
      assert.ok(b.attentionMask.every((m) => m === 1), 'packed inputs need no padding');
      for (let r = 0; r < 4; r++) {
        assert.equal(b.inputIds[r * 64 + 63], 1, 'input ends with EOS');
        assert.equal(b.labels[r * 14 + 13], 1, 'target ends with EOS');
        assert.equal(b.labels[r * 14], SMALL_VOCAB - 1, 'target starts with <extra_id_0>');
        assert.equal(b.decoderInputIds[r * 14], 0);
      }
      assert.ok(b.inputIds.every((id) => id >= 1 && id < SMALL_VOCAB));
      assert.ok(b.labels.every((id) => id >= 1 && id < SMALL_VOCAB));
    }
    assert.deepEqual(stream.position().examples, 80);
  });

  test('decoded examples are the corpus text with spans cut out', async () => {
    const stream = await openTrainStream({ ...base, seed: 2 });
    const b = stream.next();
    const text = await base.tokenizer.decode(b.inputIds.subarray(0, 64), { keepSpecialTokens: true });
    assert.match(text, /<extra_id_0>.*<extra_id_1>.*<extra_id_2>/);
  });

  test('is deterministic per seed, and different seeds give different batches', async () => {
    const a = take(await openTrainStream({ ...base, seed: 5 }), 3);
    const b = take(await openTrainStream({ ...base, seed: 5 }), 3);
    const c = take(await openTrainStream({ ...base, seed: 6 }), 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0].inputIds, c[0].inputIds);
  });

  test('resumes exactly from position(), also across epoch boundaries', async () => {
    const options = { ...base, inputLength: 512, batchSize: 8, seed: 11 };
    const uninterrupted = take(await openTrainStream(options), 24);
    const first = await openTrainStream(options);
    take(first, 10);
    const saved = JSON.parse(JSON.stringify(first.position()));
    const resumed = take(await openTrainStream({ ...options, position: saved }), 14);
    assert.deepEqual(resumed, uninterrupted.slice(10));
    const end = (await openTrainStream({ ...options, position: saved }));
    take(end, 14);
    assert.ok((end.position().epoch as number) >= 2, `24 batches of 8 × 568 tokens span several epochs of this corpus: ${JSON.stringify(end.position())}`);
  });

  test('refuses a position saved for another seed or input length', async () => {
    const position = (await openTrainStream({ ...base, seed: 1 })).position();
    await assert.rejects(openTrainStream({ ...base, seed: 2, position }), (e: Error) => e instanceof ConfigError && /field "seed"/.test(e.message));
    await assert.rejects(openTrainStream({ ...base, inputLength: 128, seed: 1, position }), (e: Error) => e instanceof ConfigError && /field "data"/.test(e.message));
  });

  test('validation batches are fixed: the same on every call and independent of the training seed', async () => {
    const a = await validationBatches({ ...base, count: 3 });
    const b = await validationBatches({ ...base, count: 3 });
    assert.equal(a.length, 3);
    assert.deepEqual(a, b);
    const train = take(await openTrainStream({ ...base, seed: 1 }), 1)[0];
    assert.notDeepEqual(a[0].inputIds, train.inputIds);
    const regrouped = await validationBatches({ ...base, batchSize: 2, count: 6 });
    assert.deepEqual(regrouped[0].inputIds, a[0].inputIds.subarray(0, 128), 'examples do not depend on the batch size');
    await assert.rejects(validationBatches({ ...base, count: 100000 }), (e: Error) => e instanceof UserError && /validation split .* holds \d+ tokens/.test(e.message));
  });

  test('tokenized corpora are cached: a second open reads the cache and parses no text', async () => {
    const cacheDir = temporaryDir();
    await openTrainStream({ ...base, cacheDir, seed: 1 });
    assert.equal(fs.readdirSync(path.join(cacheDir, 'tokenized')).filter((f) => f.endsWith('.bin')).length, 1);
    const untouchable: Corpus = { ...base.corpus, documents: () => { throw new Error('documents() called on a cache hit'); } };
    const cached = take(await openTrainStream({ ...base, corpus: untouchable, cacheDir, seed: 1 }), 2);
    assert.deepEqual(cached, take(await openTrainStream({ ...base, seed: 1 }), 2));
  });

  test('refuses lengths without room for a noise span and tokenizers with too few sentinels', async () => {
    await assert.rejects(openTrainStream({ ...base, inputLength: 8, seed: 1 }), (e: Error) => e instanceof ConfigError && /field "inputLength"/.test(e.message));
    await assert.rejects(openTrainStream({ ...base, inputLength: 4096, seed: 1 }), /needs 227 sentinels, but the tokenizer has 100/);
    await assert.rejects(openTrainStream({ ...base, batchSize: 0, seed: 1 }), /field "batchSize"/);
  });
});

describe('end to end', () => {
  test('corpus → tokenizer → stream → tensors → a T5 loss', async () => {
    await initEngine('cpu');
    const { corpus, tokenizer } = smallCorpusAndTokenizer();
    const stream = await openTrainStream({ corpus, tokenizer, inputLength: 32, batchSize: 2, seed: 3, cacheDir: temporaryDir() });
    const config = makeConfig({ vocab_size: tokenizer.vocabSize, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 1, num_heads: 2 });
    const params = initParams(config, 0);
    const batch = toSeq2SeqBatch(stream.next());
    const value = tf.tidy(() => loss(config, params, batch).dataSync()[0]);
    assert.ok(Number.isFinite(value) && value > 0, `loss ${value}`);
    for (const x of Object.values(batch)) x?.dispose();
    disposeParams(params);
  });
});
