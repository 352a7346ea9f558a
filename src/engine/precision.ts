// The precision of matrix products. In `bf16` (mixed precision as T5 trained: docs/performance.md
// "bf16 mixed precision"), the linear layers' and attention's products, forward and backward,
// take bf16-rounded operands and sum in float32; everything else (parameters, optimizer state,
// norms, softmax, the loss, every reduction) stays float32. The native backend rounds while it
// packs GEMM panels and multiplies with AVX512-BF16 dot products; where those are missing, bf16
// is not offered, and nothing emulates it slowly.
//
// The precision is a scope, not a global setting: `withPrecision('bf16', f)` runs f's products
// (and the gradients autodiff takes inside f) in bf16. Outside a scope products are float32, so
// evaluation, golden tests and fusion stay float32-exact.
import { nativeAddon } from './native/register';
import { inProductPrecision, type Precision } from './product_precision';
import { tf } from './tf';

export { PRECISIONS, productPrecision, type Precision } from './product_precision';

/** Why bf16 products cannot run on `backend` (default: the active one, else the one that would be chosen), or null when they can. */
export function bf16Unavailable(backend: string = activeOrDefaultBackend()): string | null {
  if (backend !== 'native') return `the ${backend} backend computes in float32 only (bf16 needs the native backend)`;
  const addon = nativeAddon();
  if (!addon) return 'the native addon does not load here (see deepfusion --version)';
  if (!addon.info().bf16) {
    return 'this CPU has no AVX512-BF16 instructions (flag avx512_bf16 in /proc/cpuinfo), or the compiler that built ' +
      'the addon does not target them';
  }
  return null;
}

/** bf16 where the machine computes it natively, else fp32: the default of every precision setting. */
export function machinePrecision(): Precision {
  return bf16Unavailable() === null ? 'bf16' : 'fp32';
}

const warned = new Set<string>();

/**
 * The precision a run computes in: the one asked for, or the machine's when none is. bf16 asked
 * for where it cannot run falls back to fp32, with one line on stderr saying why (once per process).
 */
export function resolvePrecision(asked: Precision | undefined): Precision {
  if (asked === undefined) return machinePrecision();
  if (asked === 'fp32') return asked;
  const why = bf16Unavailable();
  if (why === null) return asked;
  const message = `warning: precision bf16 is not available: ${why}. Computing in fp32 instead (the run's settings say fp32).`;
  if (!warned.has(message)) process.stderr.write(`${message}\n`);
  warned.add(message);
  return 'fp32';
}

/** Runs f with its matrix products (and their gradients) in `precision`. */
export function withPrecision<T>(precision: Precision, f: () => T): T {
  if (precision === 'bf16') {
    const why = bf16Unavailable(tf.getBackend());
    if (why !== null) throw new Error(`bf16 products cannot run: ${why}`);
  }
  return inProductPrecision(precision, f);
}

/** The backend in use, or the one initEngine would choose (settings are resolved before it runs). */
function activeOrDefaultBackend(): string {
  const name = tf.engine().backendName;
  if (name) return name;
  const env = process.env.DEEPFUSION_BACKEND;
  if (env) return env;
  return nativeAddon() ? 'native' : 'cpu';
}

/** Rounds a float32 to the nearest bf16 (ties to even), as the native kernels round operands. */
export function roundToBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return x;
  u[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 0) & 0xffff0000;
  return f[0];
}
