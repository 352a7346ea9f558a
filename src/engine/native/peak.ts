// The machine's sgemm peak as the addon reaches it: the denominator of MFU. Measured on large
// square products (where GEMM is compute-bound), best of a few repeats.
import type { NativeAddon } from './addon';

export interface SgemmPeak {
  gflops: number;
  /** Side of the square product that reached the peak. */
  size: number;
  gemm: string;
  threads: number;
}

export function measureSgemmPeak(addon: NativeAddon, sizes: number[] = [2048, 3072], repeats = 3): SgemmPeak {
  let best: SgemmPeak = { gflops: 0, size: 0, gemm: addon.info().gemm, threads: addon.info().threads };
  for (const n of sizes) {
    const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = a.slice();
    const c = new Float32Array(n * n);
    addon.matmul(a, b, c, 1, 1, 1, n, n, n, false, false);
    for (let r = 0; r < repeats; r++) {
      const t0 = process.hrtime.bigint();
      addon.matmul(a, b, c, 1, 1, 1, n, n, n, false, false);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const gflops = (2 * n * n * n) / seconds / 1e9;
      if (gflops > best.gflops) best = { ...best, gflops, size: n };
    }
  }
  return best;
}
