// The portable GEMM is what every machine without OpenBLAS runs: it must build on its own
// (no BLAS headers or library) and compute what the reference computes. The portable variant is
// also built without bf16 products, as on a CPU without AVX512-BF16: it must refuse them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { loadAddon, nativeAddon, PACKAGE_ROOT, PORTABLE_ADDON_PATH, threadCount, type NativeAddon } from '../../../src/engine/native';
import { randomValues } from '../../helpers/backends';
import { assertClose } from '../../helpers/compare';
import { gemmReference } from '../../helpers/gemm_reference';

function checkGemm(addon: NativeAddon): void {
  for (const [m, n, k] of [[1, 1, 1], [13, 37, 29], [100, 67, 300], [257, 129, 65]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = randomValues(m * k, 1);
        const b = randomValues(k * n, 2);
        const c = new Float32Array(m * n).fill(NaN);
        addon.matmul(a, b, c, 1, 1, 1, m, n, k, ta, tb, false, null, null);
        assertClose(c, gemmReference(a, b, m, n, k, ta, tb), 1e-6, `gemm ${m}x${n}x${k} ta=${ta} tb=${tb}`);
      }
    }
  }
}

/** Sources (the op table generator too) newer than the portable build: it must be rebuilt before it proves anything. */
function stale(): boolean {
  if (!fs.existsSync(PORTABLE_ADDON_PATH)) return true;
  const built = fs.statSync(PORTABLE_ADDON_PATH).mtimeMs;
  const dir = path.join(PACKAGE_ROOT, 'native');
  const sources = [...fs.readdirSync(dir).map((f) => path.join(dir, f)), path.join(PACKAGE_ROOT, 'scripts', 'native-ops.js')];
  return sources.some((f) => fs.statSync(f).mtimeMs > built);
}

describe('portable GEMM', () => {
  test('the variant without OpenBLAS builds and multiplies correctly', () => {
    if (stale()) {
      execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'build-native.js'), '--variant', 'portable',
        '--out', path.dirname(path.dirname(path.dirname(PORTABLE_ADDON_PATH))), '--no-bf16', '--strict'], { stdio: 'pipe' });
    }
    const loaded = loadAddon(PORTABLE_ADDON_PATH);
    assert.ok('addon' in loaded, 'error' in loaded ? loaded.error : '');
    const info = loaded.addon.info();
    assert.equal(info.gemm, 'portable');
    assert.equal(info.openblasBuiltIn, false);
    assert.equal(loaded.addon.selectGemm('openblas'), false);
    checkGemm(loaded.addon);
    assert.equal(info.bf16, false, 'built without bf16 products');
    const c = new Float32Array(4);
    assert.throws(() => loaded.addon.matmul(new Float32Array(4), new Float32Array(4), c, 1, 1, 1, 2, 2, 2, false, false, true, null, null),
      /matmul: bf16 products need AVX512-BF16, which this build lacks/);
    assert.throws(() => loaded.addon.peakGflops('bf16', 0.01), /bf16 dot products need AVX512-BF16/);
    assert.ok(loaded.addon.peakGflops('fp32', 0.01) > 0, 'the float32 peak runs anywhere');
  });

  test('the portable kernel inside the main build agrees too, on one thread and on all', () => {
    const addon = nativeAddon();
    assert.ok(addon, 'the native addon did not load');
    const before = addon.info().gemm;
    try {
      assert.ok(addon.selectGemm('portable'));
      checkGemm(addon);
      addon.setThreads(1);
      checkGemm(addon);
    } finally {
      addon.setThreads(threadCount());
      addon.selectGemm(before);
    }
  });
});
