import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { caseFromTokens, logitsChange, probeCase, TEXT_BATCH, verificationLines } from '../../src/fusion/verify';
import { parseCase } from '../../src/model/case';
import { makeConfig } from '../../src/model/config';

const config = makeConfig({ vocab_size: 50, d_model: 8, d_kv: 4, d_ff: 16, num_layers: 1, num_heads: 2 });

describe('verification batches and errors', () => {
  test('logitsChange: max abs and ‖a − b‖ / ‖b‖', () => {
    const c = logitsChange([1, 2, 2], [1, 2, 4]);
    assert.equal(c.maxAbs, 2);
    assert.ok(Math.abs(c.relative - 2 / Math.sqrt(21)) < 1e-12);
    assert.deepEqual(logitsChange([3], [3]), { maxAbs: 0, relative: 0 });
  });

  test('the probe batch is reproducible and a valid case for the model', () => {
    const a = probeCase(config);
    assert.deepEqual(probeCase(config), a);
    assert.notDeepEqual(probeCase(config, 1), a);
    assert.deepEqual(parseCase(a, config, 'probe'), a);
  });

  test('text lines become a padded batch whose labels are the tokens', () => {
    const encode = (text: string) => text.split(' ').filter((w) => w !== '').map((w) => w.length + 1);
    const lines = verificationLines('a bb ccc\n\ndddd\r\n   \n');
    assert.deepEqual(lines, ['a bb ccc', 'dddd']);
    const c = caseFromTokens(lines.map(encode), config, 'lines.txt');
    assert.deepEqual(c.input_ids, [[2, 3, 4], [5, 0, 0]]);
    assert.deepEqual(c.attention_mask, [[1, 1, 1], [1, 0, 0]]);
    assert.deepEqual(c.labels, [[2, 3, 4], [5, -100, -100]]);
    assert.deepEqual(c.decoder_input_ids, [[0, 2, 3], [0, 5, 0]]);
    assert.deepEqual(parseCase(c, config, 'text'), c);

    const long = verificationLines(Array.from({ length: 20 }, () => 'x '.repeat(200)).join('\n'));
    assert.equal(long.length, TEXT_BATCH.maxLines);
    assert.equal(caseFromTokens(long.map(encode), config, 'long.txt').input_ids[0].length, TEXT_BATCH.maxTokens);
    assert.throws(() => caseFromTokens([[], []], config, 'empty.txt'), /empty\.txt: no line of text yields any token/);
  });
});
