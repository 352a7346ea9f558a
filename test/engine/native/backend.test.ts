import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { describeBackend } from '../../../src/engine';
import { nativeAddon, NativeBackend, threadCount } from '../../../src/engine/native';
import { hugePages } from '../../../src/engine/native/backend';
import { BufferPool } from '../../../src/engine/native/buffer_pool';
import { tf } from '../../../src/engine/tf';
import { UserError } from '../../../src/errors';
import { NATIVE } from '../../helpers/backends';
import { runCli } from '../../helpers/cli';

async function native(): Promise<NativeBackend> {
  await initEngine(NATIVE);
  const backend = tf.backend();
  assert.ok(backend instanceof NativeBackend);
  return backend;
}

describe('native backend', () => {
  test('is the default backend and says which GEMM and how many threads it uses', async () => {
    assert.equal(await initEngine(undefined), process.env.DEEPFUSION_BACKEND ?? NATIVE);
    await native();
    assert.match(describeBackend(), /^native \(C\+\+ addon, (OpenBLAS|portable built-in) sgemm.*\d+ threads/);
  });

  test('loading the addon leaves no OpenBLAS setting behind for child processes', () => {
    // In a fresh process: this one has loaded the addon already, and require() would not again.
    const env = { ...process.env };
    delete env.OPENBLAS_THREAD_TIMEOUT;
    const script = `const { loadAddon } = require(${JSON.stringify(require.resolve('../../../src/engine/native/addon'))});
      const loaded = loadAddon();
      console.log(JSON.stringify({ loaded: 'addon' in loaded, timeout: process.env.OPENBLAS_THREAD_TIMEOUT ?? null }));`;
    const out = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), { loaded: true, timeout: null });
  });

  test('the pool announces only freshly allocated arrays, and huge-page advice leaves values alone', async () => {
    const backend = await native();
    const seen: number[] = [];
    const pool = new BufferPool(1 << 30, (fresh) => seen.push(fresh.length));
    const big = pool.take(3 << 20);
    pool.attach(big);
    pool.release(big);
    assert.equal(pool.take(3 << 20), big, 'the released array is reused');
    assert.deepEqual(seen, [3 << 20], 'only the fresh allocation is announced');
    const values = Float32Array.from({ length: 3 << 20 }, (_, i) => i % 251);
    backend.addon.adviseHugePages(values);
    backend.addon.adviseHugePages(new Float32Array(3));
    assert.ok(values.every((v, i) => v === i % 251));
  });

  test('huge pages are off unless DEEPFUSION_HUGE_PAGES=1; another value is refused with the fix', () => {
    assert.equal(hugePages({}), false);
    assert.equal(hugePages({ DEEPFUSION_HUGE_PAGES: '0' }), false);
    assert.equal(hugePages({ DEEPFUSION_HUGE_PAGES: '1' }), true);
    assert.throws(() => hugePages({ DEEPFUSION_HUGE_PAGES: 'yes' }),
      (e: Error) => e instanceof UserError && /DEEPFUSION_HUGE_PAGES must be 0 or 1, got "yes"\. Fix:/.test(e.message));
  });

  test('recycles the arrays of disposed outputs', async () => {
    const backend = await native();
    const x = tf.ones([1000]);
    tf.dispose(tf.add(x, x));
    const before = backend.poolStats().reused;
    tf.dispose(tf.add(x, x));
    assert.equal(backend.poolStats().reused, before + 1);
    x.dispose();
  });

  test('an array the user read is never recycled under them', async () => {
    await native();
    const x = tf.fill([4096], 2);
    const y = tf.mul(x, x);
    const seen = y.dataSync();
    y.dispose();
    for (let i = 0; i < 4; i++) tf.dispose(tf.add(x, tf.scalar(i)));
    assert.ok(seen.every((v) => v === 4), 'values read before dispose changed');
    x.dispose();
  });

  test('a view shared by another tensor is never recycled under it', async () => {
    await native();
    const x = tf.range(0, 64, 1, 'float32').reshape([8, 8]);
    const doubled = tf.mul(x, 2);
    const view = tf.slice(doubled, [2, 0], [1, 8]);
    doubled.dispose();
    for (let i = 0; i < 4; i++) tf.dispose(tf.mul(x, 3));
    assert.deepEqual(Array.from(view.dataSync()), [32, 34, 36, 38, 40, 42, 44, 46]);
    tf.dispose([x, view]);
  });

  test('resizing the thread pool between jobs never loses a job', async () => {
    await native();
    const addon = nativeAddon()!;
    const a = new Float32Array(96 * 96).fill(1);
    const c = new Float32Array(96 * 96);
    try {
      for (let i = 0; i < 200; i++) {
        addon.setThreads(1 + (i % 3));
        addon.matmul(a, a, c, 1, 1, 1, 96, 96, 96, false, false, false, null, null);
        assert.equal(c[96 * 96 - 1], 96);
      }
    } finally {
      addon.setThreads(threadCount());
    }
  });

  test('float32 tensors stored as bool or int32 arrays (after a cast) work in native kernels', async () => {
    await native();
    const mask = tf.cast(tf.greater(tf.tensor1d([1, -1, 2]), 0), 'float32');
    const y = tf.matMul(mask.reshape([1, 3]), tf.ones([3, 2]));
    assert.deepEqual(Array.from(y.dataSync()), [2, 2]);
    tf.dispose([mask, y]);
  });
});

describe('native backend settings', () => {
  test('a bad DEEPFUSION_THREADS is refused with the fix, not silently replaced by the cpu backend', () => {
    const r = runCli(['--version'], { DEEPFUSION_BACKEND: '', DEEPFUSION_THREADS: '0' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /DEEPFUSION_THREADS must be a positive integer, got "0"\. Fix:/);
  });

  test('DEEPFUSION_THREADS and DEEPFUSION_GEMM show in the backend description', () => {
    const r = runCli(['--version'], { DEEPFUSION_BACKEND: '', DEEPFUSION_THREADS: '1', DEEPFUSION_GEMM: 'portable' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backend native \(C\+\+ addon, portable built-in sgemm, 1 threads/);
  });
});
