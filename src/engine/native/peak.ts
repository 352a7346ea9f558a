// The machine's arithmetic peak, the denominator of MFU: float32 fused multiply-adds and, where
// the CPU has AVX512-BF16, bf16 dot products, from registers on every thread at once
// (native/peak.cc). A GEMM cannot beat it, so MFU against it is what the cores could do, not
// what one GEMM library reaches.
import type { NativeAddon } from './addon';

export interface HardwarePeak {
  /** GFLOP/s of float32 fused multiply-adds on `threads` threads. */
  fp32: number;
  /** GFLOP/s of bf16 dot products (vdpbf16ps), or null without AVX512-BF16. */
  bf16: number | null;
  threads: number;
}

/** Runs each microbenchmark for `seconds` of CPU time per thread. */
export function measureHardwarePeak(addon: NativeAddon, seconds = 0.25): HardwarePeak {
  const info = addon.info();
  return {
    fp32: addon.peakGflops('fp32', seconds),
    bf16: info.bf16 ? addon.peakGflops('bf16', seconds) : null,
    threads: info.threads,
  };
}
