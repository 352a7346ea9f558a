import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matmulFlops, t5ForwardFlops, t5TrainingStepFlops } from '../../src/model/flops';
import { makeConfig } from '../../src/model/config';

describe('FLOP accounting', () => {
  test('counts every matmul of a T5 forward pass, and 3× that for a training step', () => {
    const config = makeConfig({ vocab_size: 10, d_model: 4, d_kv: 2, d_ff: 8, num_layers: 1, num_heads: 2, feed_forward_proj: 'relu' });
    const shape = { batch: 1, inputLength: 3, targetLength: 2 };
    // Encoder: q,k,v,o on 3 tokens, scores and probs·v per head, wi and wo.
    const encoder = 4 * matmulFlops(3, 4, 4) + 2 * 2 * matmulFlops(3, 3, 2) + 2 * matmulFlops(3, 8, 4);
    // Decoder: self-attention on 2 tokens, cross-attention q,o on 2 and k,v on 3 tokens, FFN.
    const decoder = 4 * matmulFlops(2, 4, 4) + 2 * 2 * matmulFlops(2, 2, 2) + 2 * matmulFlops(2, 4, 4) +
      2 * matmulFlops(3, 4, 4) + 2 * 2 * matmulFlops(2, 3, 2) + 2 * matmulFlops(2, 8, 4);
    const lmHead = matmulFlops(2, 10, 4);
    const attention = 2 * 2 * matmulFlops(3, 3, 2) + 2 * 2 * matmulFlops(2, 2, 2) + 2 * 2 * matmulFlops(2, 3, 2);
    assert.deepEqual(t5ForwardFlops(config, shape), { encoder, decoder, lmHead, forward: encoder + decoder + lmHead, attention });
    assert.equal(t5TrainingStepFlops(config, shape), 3 * (encoder + decoder + lmHead));
  });

  test('gated-gelu has three FFN matrices', () => {
    const shape = { batch: 2, inputLength: 4, targetLength: 4 };
    const base = { vocab_size: 10, d_model: 4, d_kv: 2, d_ff: 8, num_layers: 1, num_heads: 2 };
    const relu = t5ForwardFlops(makeConfig({ ...base, feed_forward_proj: 'relu' }), shape);
    const gated = t5ForwardFlops(makeConfig({ ...base, feed_forward_proj: 'gated-gelu' }), shape);
    assert.equal(gated.encoder - relu.encoder, matmulFlops(8, 8, 4));
  });
});
