import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { nativeAddon, threadCount } from '../../../src/engine/native';
import { NATIVE } from '../../helpers/backends';

// Native kernels flush denormals to zero (native/denormals.h): arithmetic on them is ~4x slower on
// Zen 5, and Adam's moments decay into them. The flush must hold on the pool's workers as on the
// calling thread, and must not leak into JavaScript's own arithmetic on that thread.

after(() => nativeAddon()?.setThreads(threadCount()));

const SMALLEST_NORMAL = 2 ** -126;

test('a native kernel flushes denormals to zero on every thread, and JavaScript keeps them', async () => {
  await initEngine(NATIVE);
  const addon = nativeAddon();
  assert.ok(addon, 'the native addon loads');
  // Large enough that AdamW's update is split across the pool (chunks of 2^15 and more).
  const n = 1 << 18;
  for (const threads of [1, 2]) {
    addon.setThreads(threads);
    const param = new Float32Array(n).fill(1);
    const grad = new Float32Array(n);  // zero: m' = β1·m, v' = β2·v
    const m = new Float32Array(n).fill(SMALLEST_NORMAL);
    const v = new Float32Array(n).fill(SMALLEST_NORMAL);
    // A denormal input is read as zero too: it would otherwise decay to a smaller denormal.
    m[n - 1] = SMALLEST_NORMAL / 4;
    const [p2, m2, v2] = [new Float32Array(n), new Float32Array(n), new Float32Array(n).fill(NaN)];
    addon.adamw(param, grad, m, v, p2, m2, v2, 1e-3, 0.9, 0.999, 1e-8, 0, 10, 1);
    // Without the flush, m' = 0.9·2^-126 and v' = 0.999·2^-126 are denormals, nonzero.
    assert.equal(m2.findIndex((x) => x !== 0), -1, `${threads} thread(s): every m' flushed to zero`);
    assert.equal(v2.findIndex((x) => x !== 0), -1, `${threads} thread(s): every v' flushed to zero`);
    assert.ok(p2.every((x) => x === 1), 'the parameters keep their value');
  }
  // The same thread's JavaScript after the op: a denormal double product stays a denormal.
  const halves = [Number.MIN_VALUE * 2 ** 10, 0.5];
  assert.equal(halves[0] * halves[1], Number.MIN_VALUE * 2 ** 9);
  const float32 = new Float32Array([SMALLEST_NORMAL]);
  float32[0] *= halves[1];
  assert.equal(float32[0], SMALLEST_NORMAL / 2, 'a Float32Array store keeps a denormal');
});
