import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FileError, UserError } from '../../src/errors';
import { splitDocuments } from '../../src/data/corpus';
import { fileCorpus } from '../../src/data/corpus_files';
import { cachedTokenizer } from '../../src/data/default_tokenizer';
import { normalizeText } from '../../src/data/normalize';
import { loadTokenizer, metaspaceWords, tokenizerFromJson, tokensPerWord, trainTokenizer } from '../../src/data/tokenizer';
import { mobyDickChapters, smallCorpusAndTokenizer, SMALL_VOCAB, writeChapterDir } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';
import { Tokenizer } from 'tokenizers';

describe('trained T5 tokenizer', () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();

  test("has T5's special ids and sentinels at the top of the vocabulary", () => {
    assert.equal(tokenizer.vocabSize, SMALL_VOCAB);
    assert.deepEqual([tokenizer.padId, tokenizer.eosId, tokenizer.unkId], [0, 1, 2]);
    assert.deepEqual([0, 1, 2].map((id) => tokenizer.idToToken(id)), ['<pad>', '</s>', '<unk>']);
    assert.equal(tokenizer.sentinelCount, 100);
    assert.equal(tokenizer.sentinelId(0), SMALL_VOCAB - 1);
    assert.equal(tokenizer.sentinelId(99), SMALL_VOCAB - 100);
    assert.equal(tokenizer.idToToken(SMALL_VOCAB - 1), '<extra_id_0>');
    assert.equal(tokenizer.idToToken(SMALL_VOCAB - 100), '<extra_id_99>');
    assert.throws(() => tokenizer.sentinelId(100), UserError);
  });

  test('decode(encode(text)) is the normalised text, on real corpus text', async () => {
    for (const text of mobyDickChapters(12)) {
      const ids = await tokenizer.encode(text);
      assert.ok(!ids.includes(tokenizer.unkId) && !ids.includes(tokenizer.eosId), 'no unk, no EOS');
      assert.equal(await tokenizer.decode(ids), normalizeText(text));
    }
    assert.deepEqual(await tokenizer.encode('  \n '), []);
  });

  test('decode skips special tokens unless asked to keep them', async () => {
    const ids = [...await tokenizer.encode('Call me Ishmael.'), tokenizer.sentinelId(0), tokenizer.eosId, tokenizer.padId];
    assert.equal(await tokenizer.decode(ids), 'Call me Ishmael.');
    assert.equal(await tokenizer.decode(ids, { keepSpecialTokens: true }), 'Call me Ishmael.<extra_id_0></s><pad>');
  });

  test('save → load gives the same tokenizer: same file, same fingerprint, same ids', async () => {
    const file = path.join(temporaryDir(), 'model', 'tokenizer.json');
    tokenizer.save(file);
    const loaded = loadTokenizer(file);
    assert.equal(fs.readFileSync(file, 'utf8'), tokenizer.toJSON());
    assert.equal(loaded.fingerprint, tokenizer.fingerprint);
    assert.equal(loaded.vocabSize, tokenizer.vocabSize);
    assert.equal(loaded.sentinelCount, tokenizer.sentinelCount);
    const text = mobyDickChapters(1)[0];
    assert.deepEqual(await loaded.encode(text), await tokenizer.encode(text));
    assert.deepEqual(await loaded.encodeBatch([text, 'whale']), [await tokenizer.encode(text), await tokenizer.encode('whale')]);
  });

  test('training is deterministic: the same corpus and settings give the identical tokenizer.json', () => {
    const again = trainTokenizer({ corpus: fileCorpus(corpus.source), vocabSize: SMALL_VOCAB });
    assert.equal(again.toJSON(), tokenizer.toJSON());
  });

  test('trains on the training split only and measures tokens per word on the validation split', async () => {
    const tpw = await tokensPerWord(tokenizer, corpus);
    assert.ok(tpw > 1 && tpw < 4, `${tpw}`);
    assert.ok(splitDocuments(corpus.documents()).validation.length > 0);
  });

  test('the Metaspace words used for training are the pre-tokenizer\'s', () => {
    const hf = Tokenizer.fromString(tokenizer.toJSON()).getPreTokenizer()!;
    for (const text of mobyDickChapters(3).map(normalizeText)) {
      assert.deepEqual(metaspaceWords(text), hf.preTokenizeString(text).map(([w]) => w));
    }
  });
});

describe('tokenizer training options', () => {
  test('fewer sentinels move <extra_id_0> with the vocabulary top; bad sizes are refused clearly', () => {
    const corpus = fileCorpus(writeChapterDir(3));
    const t = trainTokenizer({ corpus, vocabSize: 200, sentinels: 10 });
    assert.equal(t.sentinelCount, 10);
    assert.equal(t.sentinelId(0), 199);
    assert.throws(() => trainTokenizer({ corpus, vocabSize: 103 }), /above 103/);
    const alphabet = new Set(splitDocuments(corpus.documents()).train.flatMap((d) => Array.from(`▁${d.text.replaceAll(' ', '▁')}`))).size;
    assert.throws(() => trainTokenizer({ corpus, vocabSize: 3 + 10 + alphabet - 1, sentinels: 10 }), /distinct characters.*raise the vocab size/);
    assert.throws(() => trainTokenizer({ corpus, vocabSize: 50000 }), /supports only \d+ pieces/);
  });

  test('cachedTokenizer trains once and then loads the identical tokenizer from the cache', () => {
    const cacheDir = temporaryDir();
    const corpus = fileCorpus(writeChapterDir(2));
    const first = cachedTokenizer({ corpus, vocabSize: 200, cacheDir });
    let rounds = 0;
    const second = cachedTokenizer({ corpus, vocabSize: 200, cacheDir, onProgress: () => rounds++ });
    assert.equal(rounds, 0, 'no training on a cache hit');
    assert.equal(second.toJSON(), first.toJSON());
    assert.equal(fs.readdirSync(path.join(cacheDir, 'tokenizers')).filter((f) => f.endsWith('.json')).length, 1);
  });
});

describe('loading tokenizer.json files', () => {
  // Shaped like a real T5's tokenizer.json: Unigram model with the sentinels in its vocab, older
  // Metaspace fields, and a post-processor that appends </s>.
  const t5Like = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [['<pad>', 0], ['</s>', 1], ['<unk>', 2], ['<extra_id_1>', 9], ['<extra_id_0>', 10]].map(([content, id]) => (
      { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true },
    model: {
      type: 'Unigram', unk_id: 2, byte_fallback: false,
      vocab: [['<pad>', 0], ['</s>', 0], ['<unk>', 0], ['▁', -2], ['▁the', -3], ['▁whale', -4], ['s', -5], ['▁sea', -6],
        ['a', -7], ['<extra_id_1>', 0], ['<extra_id_0>', 0]],
    },
  };

  test("a T5-style file loads: encode adds no </s>, decode drops specials, sentinels are found", async () => {
    const t = tokenizerFromJson(JSON.stringify(t5Like), 't5-like');
    assert.equal(t.vocabSize, 11);
    assert.equal(t.sentinelCount, 2);
    assert.equal(t.sentinelId(1), 9);
    const ids = await t.encode('the  whales sea');
    assert.deepEqual(ids, [4, 5, 6, 7]);
    assert.equal(await t.decode([...ids, 10, 1, 0]), 'the whales sea');
  });

  test('refusals name the file and the fix', () => {
    const dir = temporaryDir();
    const write = (name: string, content: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, content);
      return f;
    };
    assert.throws(() => loadTokenizer(path.join(dir, 'missing.json')), (e: Error) => e instanceof FileError && /missing\.json: does not exist\. Fix:/.test(e.message));
    assert.throws(() => loadTokenizer(write('text.json', 'not json')), (e: Error) => e instanceof FileError && /text\.json: is not a Hugging Face tokenizer\.json/.test(e.message));
    const swapped = structuredClone(t5Like);
    swapped.model.vocab[0][0] = '</s>';
    swapped.model.vocab[1][0] = '<pad>';
    swapped.added_tokens[0].id = 1;
    swapped.added_tokens[1].id = 0;
    assert.throws(() => loadTokenizer(write('swapped.json', JSON.stringify(swapped))),
      (e: Error) => e instanceof FileError && /swapped\.json: token "<pad>" has id 1; T5 needs id 0.*Fix:/.test(e.message));
  });
});
