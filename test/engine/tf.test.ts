import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { rmsNorm } from '../../src/engine/fused';
import { shareSavedTensors, tf } from '../../src/engine/tf';
import { randomValues, TEST_BACKENDS } from '../helpers/backends';

// Gradients of a computation whose ops keep inputs and outputs for their gradients (matMul keeps
// both inputs, tanh its output, rmsNorm its input and weight), and the kernels that ran.
async function gradients(): Promise<{ grads: Float32Array[]; kernels: string[]; leaked: number }> {
  const before = tf.memory().numTensors;
  const x = tf.tensor2d(randomValues(6 * 8, 1), [6, 8]);
  const w = tf.tensor2d(randomValues(8 * 4, 2), [8, 4]);
  const g = tf.tensor1d(randomValues(4, 3, 0.5, 1.5));
  const info = await tf.profile(() => {
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(tf.tanh(rmsNorm(tf.matMul(a, b), c, { eps: 1e-6 })), tf.matMul(a, b))))([x, w, g]);
    return grads;
  });
  const grads = (info.result as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, w, g, ...(info.result as tf.Tensor[])]);
  return { grads, kernels: info.kernels.map((k) => k.name), leaked: tf.memory().numTensors - before };
}

describe('the tfjs entry point', () => {
  for (const backend of TEST_BACKENDS) {
    test(`${backend}: tensors kept for gradients share their data (no Identity kernels), with the same gradients and no leak`, async () => {
      await initEngine(backend);
      try {
        shareSavedTensors(false);
        const plain = await gradients();
        shareSavedTensors(true);
        const shared = await gradients();
        // tfjs's own method clones each kept tensor with the Identity kernel; ours runs none.
        assert.ok(plain.kernels.filter((k) => k === 'Identity').length >= 4, `tfjs cloned: ${plain.kernels.join(' ')}`);
        assert.deepEqual(shared.kernels.filter((k) => k === 'Identity'), []);
        assert.deepEqual(shared.grads, plain.grads);
        assert.equal(plain.leaked, 0);
        assert.equal(shared.leaked, 0);
      } finally {
        shareSavedTensors(true);
      }
    });
  }
});
