import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paramSpecs } from '../../src/model/params';
import { presetConfig, PRESET_NAMES } from '../../src/training/presets';

describe('presets', () => {
  test('s, m, l are T5 v1.1 style at fixed depth with d_ff = 4·d_model', () => {
    for (const name of PRESET_NAMES) {
      const c = presetConfig(name, 1000);
      assert.equal(c.vocab_size, 1000);
      assert.equal(c.d_ff, 4 * c.d_model);
      assert.equal(c.feed_forward_proj, 'gated-gelu');
      assert.equal(c.tie_word_embeddings, false);
      assert.equal(c.dropout_rate, 0);
      assert.equal(c.num_decoder_layers, c.num_layers);
    }
    assert.deepEqual(['s', 'm', 'l'].map((n) => presetConfig(n as 's', 8).d_model), [128, 256, 512]);
  });

  test('fuse(s, s) has the shape of m and fuse(m, m) that of l', () => {
    for (const [small, big] of [['s', 'm'], ['m', 'l']] as const) {
      const a = presetConfig(small, 512);
      const b = presetConfig(big, 512);
      // docs/fusion.md, "The fused config": d_model, num_heads, d_ff add; everything else must match and is copied.
      const fused = { ...a, d_model: 2 * a.d_model, num_heads: 2 * a.num_heads, d_ff: 2 * a.d_ff };
      assert.deepEqual(fused, b, `${small}+${small} vs ${big}`);
      const specs = (c: typeof a) => paramSpecs(c).map((s) => `${s.name}:${s.shape}`);
      assert.deepEqual(specs(fused), specs(b));
    }
  });
});
