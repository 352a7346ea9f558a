import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MUST_MATCH, outputWeights } from '../../src/fusion/compatibility';
import { planFuse } from '../../src/fusion/fuse';
import { ConfigError, UserError } from '../../src/errors';
import { makeConfig, type T5Config } from '../../src/model/config';

const base = makeConfig({ vocab_size: 32, d_model: 8, d_kv: 4, d_ff: 16, num_layers: 2, num_heads: 2 });

/** A value different from `base[field]` that is still a valid config. */
const CHANGED: Record<string, unknown> = {
  num_layers: 3, num_decoder_layers: 1, vocab_size: 40, d_kv: 8, feed_forward_proj: 'relu', tie_word_embeddings: true,
  relative_attention_num_buckets: 16, relative_attention_max_distance: 64, layer_norm_epsilon: 1e-5,
  pad_token_id: 3, eos_token_id: 2, decoder_start_token_id: 5,
};

describe('fusion compatibility', () => {
  test('the must-match list of docs/fusion.md is checked', () => {
    for (const field of ['num_layers', 'num_decoder_layers', 'vocab_size', 'd_kv', 'feed_forward_proj',
      'tie_word_embeddings', 'relative_attention_num_buckets', 'relative_attention_max_distance']) {
      assert.ok(MUST_MATCH.includes(field as keyof T5Config), field);
    }
  });

  for (const field of MUST_MATCH) {
    test(`a different ${field} is refused, naming the field, both values and both sources`, () => {
      const other = { ...base, d_model: 12, num_heads: 3, [field]: CHANGED[field] } as T5Config;
      assert.throws(() => planFuse([base, other], { labels: ['a/config.json', 'b/config.json'] }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.field, field);
        assert.match(err.message, new RegExp(`"${field}"`));
        assert.ok(err.message.includes(JSON.stringify(CHANGED[field])) && err.message.includes(JSON.stringify(base[field])),
          err.message);
        assert.ok(err.message.includes('a/config.json') && err.message.includes('b/config.json'), err.message);
        return true;
      });
    });
  }

  test('d_model, num_heads and d_ff may differ', () => {
    const plan = planFuse([base, { ...base, d_model: 5, num_heads: 3, d_ff: 7 }]);
    assert.equal(plan.config.d_model, 13);
  });

  test('output weights must be k positive numbers summing to 1', () => {
    assert.deepEqual(outputWeights(4), [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(outputWeights(3, [0.1, 0.2, 0.7]), [0.1, 0.2, 0.7]);
    for (const [weights, pattern] of [
      [[0.5, 0.6], /sum to 1.1/], [[1.5, -0.5], /-0.5 is not a positive number/], [[0, 1], /0 is not a positive/],
      [[1], /1 weights for 2 sources/],
    ] as const) {
      assert.throws(() => outputWeights(2, weights), (err: unknown) => err instanceof UserError && pattern.test(err.message));
    }
  });

  test('one source is not a fusion', () => {
    assert.throws(() => planFuse([base]), /at least 2 sources/);
  });
});
