import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Tokenizer } from 'tokenizers';
import { HF_NORMALIZER, normalizeText } from '../../src/data/normalize';
import { mobyDickChapters } from '../helpers/corpus';

describe('normalizeText', () => {
  test('folds compatibility forms, drops control characters, collapses whitespace, trims', () => {
    assert.equal(normalizeText('  ﬁne\u00a0 ｆｕｌｌ\twidth\r\n\r\nnext\u2028line\u0007 \ufeffend  '), 'fine full width next line end');
    assert.equal(normalizeText('\n\t '), '');
  });

  test('is idempotent on real text', () => {
    for (const text of mobyDickChapters(5)) assert.equal(normalizeText(normalizeText(text)), normalizeText(text));
  });

  test("agrees with the Hugging Face normalizer written into tokenizer.json", () => {
    const json = {
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: HF_NORMALIZER,
      pre_tokenizer: null, post_processor: null, decoder: null,
      model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0]], byte_fallback: false },
    };
    const hf = Tokenizer.fromString(JSON.stringify(json)).getNormalizer()!;
    const samples = [...mobyDickChapters(10), ' a\u3000b\u0085c\u000bd\u0001e ', 'Ⅻ ① ㎏ ﬃ'];
    for (const text of samples) assert.equal(hf.normalizeString(text), normalizeText(text));
  });
});
