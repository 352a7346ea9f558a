import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors';
import { configToJson, parseConfig } from '../../src/model/config';

const base = { vocab_size: 100, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 2, num_heads: 4 };

function refused(json: unknown, field: string, pattern: RegExp): void {
  assert.throws(() => parseConfig(json, 'cfg.json'),
    (e: unknown) => e instanceof ConfigError && e.field === field && pattern.test(e.message) && e.message.startsWith('cfg.json'));
}

test('HF defaults apply and unknown fields survive a round trip', () => {
  const c = parseConfig({ ...base, model_type: 't5', task_specific_params: { x: 1 } }, 'cfg.json');
  assert.equal(c.num_decoder_layers, 2);
  assert.equal(c.relative_attention_num_buckets, 32);
  assert.equal(c.feed_forward_proj, 'relu');
  assert.equal(c.tie_word_embeddings, true);
  assert.deepEqual(configToJson(c).task_specific_params, { x: 1 });
  assert.deepEqual(configToJson(parseConfig(configToJson(c), 'again')), configToJson(c));
});

test('missing, mistyped and inconsistent fields are refused by name', () => {
  const { d_model: _d, ...noDModel } = base;
  refused(noDModel, 'd_model', /is missing/);
  refused({ ...base, num_heads: 2.5 }, 'num_heads', /expected an integer ≥ 1, got 2.5/);
  refused({ ...base, feed_forward_proj: 'swiglu' }, 'feed_forward_proj', /unsupported value "swiglu"/);
  refused({ ...base, tie_word_embeddings: 'yes' }, 'tie_word_embeddings', /expected true or false/);
  refused({ ...base, eos_token_id: 100 }, 'eos_token_id', /not below vocab_size 100/);
  refused({ ...base, norm_groups: [16, 8] }, 'norm_groups', /sum to 24, not d_model 32/);
  refused({ ...base, feed_forward_proj: 'gated-gelu', is_gated_act: false }, 'is_gated_act', /contradicts/);
  refused([1, 2], '(root)', /JSON object/);
});

test('norm_groups are kept', () => {
  assert.deepEqual(parseConfig({ ...base, norm_groups: [16, 16] }, 'x').norm_groups, [16, 16]);
});
