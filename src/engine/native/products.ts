// Every matrix product a piece of work runs, timed where it ran and again alone
// (`deepfusion bench --products`). The two disagree when the products' operands arrive cold or
// the pool's threads are elsewhere; alone they show what the GEMM itself does with each shape.
// Attention's per-head products run inside DfAttention and are not among them.
import { Rng } from '../../util/rng';
import type { NativeAddon } from './addon';

export interface ProductShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  bf16: boolean;
  /** Operands stored in bf16 (src/engine/native/backend.ts): 'a', 'b', 'ab' or ''. */
  stored: string;
}

export interface ProductTime extends ProductShape {
  calls: number;
  /** Wall time of all its calls during the recording. */
  seconds: number;
  /** Median wall time of one call on fresh operands of its shape, times `calls`; null until timed. */
  aloneSeconds: number | null;
}

export interface ProductRecording {
  /** Restores the addon and returns each shape that ran, slowest first. */
  stop(): ProductTime[];
}

/** Records addon.matmul's calls (every BatchMatMul on the native backend) until stopped. */
export function recordProducts(addon: NativeAddon): ProductRecording {
  type Matmul = NativeAddon['matmul'];
  // The backend's kernels look addon.matmul up on every call, so swapping it reaches them all.
  const slot = addon as { matmul: Matmul };
  const inner = slot.matmul;
  const times = new Map<string, ProductTime>();
  slot.matmul = (...args: Parameters<Matmul>) => {
    const [, , , batch, , , m, n, k, transA, transB, bf16, aBf16, bBf16] = args;
    const stored = `${aBf16 ? 'a' : ''}${bBf16 ? 'b' : ''}`;
    const t0 = process.hrtime.bigint();
    try {
      inner(...args);
    } finally {
      const key = `${batch} ${m} ${n} ${k} ${transA} ${transB} ${bf16} ${stored}`;
      let entry = times.get(key);
      if (!entry) {
        times.set(key, (entry = { batch, m, n, k, transA, transB, bf16, stored, calls: 0, seconds: 0, aloneSeconds: null }));
      }
      entry.calls++;
      entry.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    }
  };
  return {
    stop() {
      slot.matmul = inner;
      return [...times.values()].sort((x, y) => y.seconds - x.seconds);
    },
  };
}

/** Fills in aloneSeconds: each shape run `reps` times back to back on operands of its own. */
export function timeProductsAlone(addon: NativeAddon, products: ProductTime[], reps = 9): void {
  for (const p of products) {
    const rng = Rng.fromSeed(0);
    const a = operand(p.batch * p.m * p.k, rng);
    const b = operand(p.batch * p.k * p.n, rng);
    const c = new Float32Array(p.batch * p.m * p.n);
    const [aIn, aHalf] = p.stored.includes('a') ? [null, bf16Bits(a)] : [a, null];
    const [bIn, bHalf] = p.stored.includes('b') ? [null, bf16Bits(b)] : [b, null];
    const run = (): void => addon.matmul(aIn, bIn, c, p.batch, p.batch, p.batch, p.m, p.n, p.k, p.transA, p.transB, p.bf16, aHalf, bHalf);
    run();
    const seconds: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      run();
      seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    seconds.sort((x, y) => x - y);
    p.aloneSeconds = seconds[reps >> 1] * p.calls;
  }
}

/** Values in [-1, 1) from a seeded sequence: no zeros or denormals to flatter a product. */
function operand(length: number, rng: Rng): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/** The high halves of the floats: bf16 storage for a product that reads its operand so. */
function bf16Bits(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Uint16Array.from(bits, (u) => u >>> 16);
}
