// Loads the C++ addon built by scripts/build-native.js; its functions' types follow from the op
// table (native/ops.js). Every function reads and writes typed arrays in place; shapes arrive as
// plain numbers or a small Float64Array layout, so crossing into C++ costs a function call and
// nothing more.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ABI, OPS } from '../../../native/ops';
import { UserError } from '../../errors';

export interface AddonInfo {
  /** GEMM kernel in use: 'openblas' or 'portable'. */
  gemm: 'openblas' | 'portable';
  /** OpenBLAS's build and core description when it is built in ('' otherwise). */
  gemmLibrary: string;
  openblasBuiltIn: boolean;
  /**
   * OpenBLAS (built in) sums an element of C differently depending on where it sits in C (its
   * core type's kernels do, e.g. OPENBLAS_CORETYPE=Haswell on a Zen 5), so it is not the default.
   */
  openblasRoundsByPosition: boolean;
  threads: number;
  simd: string;
  /** bf16 products are built in (the compiler targeted AVX512-BF16): matmul's bf16 flag works. */
  bf16: boolean;
}

/** What each argument kind of native/ops.js is in JavaScript. */
interface ArgTypes {
  f32: Float32Array;
  'f32 out': Float32Array;
  'f32?': Float32Array | null;
  'f32? out': Float32Array | null;
  'u16?': Uint16Array | null;
  'u16? out': Uint16Array | null;
  i32: Int32Array;
  f64: Float64Array;
  int: number;
  number: number;
  bool: boolean;
  string: string;
}

interface ReturnTypes {
  number: number;
  bool: boolean;
  names: string[];
  info: AddonInfo;
}

/** The kind of 'name: kind' or 'name: kind[len]' (the length reaches C++ alone). */
type KindOf<Arg> = Arg extends `${string}: ${infer Kind}` ? (Kind extends `${infer Base}[${string}]` ? Base : Kind) : never;
type Params<Args extends readonly string[]> = { -readonly [I in keyof Args]: ArgTypes[KindOf<Args[I]> & keyof ArgTypes] };
type Ops = typeof OPS;

/** Every function the addon exports, as native/ops.js declares it. */
export type NativeOps = {
  [Name in keyof Ops]: (...args: Params<Ops[Name]['args']>) =>
    Ops[Name] extends { returns: infer R extends keyof ReturnTypes } ? ReturnTypes[R] : void;
};

/** The interface hash of native/ops.js, which an addon built from the same table exports as `abi`. */
export const ADDON_ABI: string = ABI;

export interface NativeAddon extends NativeOps {
  abi: string;
}

/** The package root (this file runs from dist/src/engine/native). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'deepfusion.node');
/** The variant built without OpenBLAS (scripts/build-native.js builds it beside the main one). */
export const PORTABLE_ADDON_PATH = path.join(PACKAGE_ROOT, 'build-portable', 'build', 'Release', 'deepfusion.node');
const BUILD_REPORT = path.join(PACKAGE_ROOT, 'build', 'native-build.json');

/** The loaded addon, and whether DEEPFUSION_GEMM chose its GEMM kernel (else the addon's default did). */
export type AddonLoad = { addon: NativeAddon; gemmChosen: boolean } | { error: string };

/** Why the addon is missing, from the install's build report when there is one. */
function missingReason(file: string): string {
  let detail = '';
  if (fs.existsSync(BUILD_REPORT)) {
    const report = JSON.parse(fs.readFileSync(BUILD_REPORT, 'utf8')) as { ok?: boolean; error?: string };
    if (report.ok === false && report.error) detail = ` (the build failed: ${report.error.split('\n').slice(0, 2).join(' ')})`;
  }
  return `${file} is missing${detail}. Fix: npm run build:native`;
}

/**
 * Threads for every kernel, GEMM included: $DEEPFUSION_THREADS, else all cores. (OpenBLAS runs
 * single-threaded inside the addon's workers, or on this many threads of its own for a large
 * GEMM, so this one number governs it too.)
 */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DEEPFUSION_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`DEEPFUSION_THREADS must be a positive integer, got "${raw}". Fix: unset it or set e.g. DEEPFUSION_THREADS=2`);
  }
  return n;
}

/**
 * OpenBLAS's threads poll for their next GEMM for ~0.1 s before they sleep, taking cores from
 * the addon's own kernels that run in between (a d512 step then spent 2.5 s in GEMMs, not 1.7).
 * OpenBLAS reads OPENBLAS_THREAD_TIMEOUT (2^n cycles of polling) once, when the addon loads it.
 * 2^20 cycles (~0.4 ms) keeps them awake between the GEMMs of one layer's backward pass, which
 * otherwise each wake a sleeping thread, and asleep soon after: a d512 step took 2.30 s against
 * 2.46 s with 2^4 (medians of 8 interleaved pairs). The variable is restored afterwards, so
 * child processes (a PyTorch peer) never see it.
 */
function requireWithOpenblasTimeout(file: string): NativeAddon {
  const before = process.env.OPENBLAS_THREAD_TIMEOUT;
  if (before === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '20';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeAddon;
  } finally {
    if (before === undefined) delete process.env.OPENBLAS_THREAD_TIMEOUT;
  }
}

export function loadAddon(file: string = ADDON_PATH): AddonLoad {
  if (!fs.existsSync(file)) return { error: missingReason(file) };
  // A bad setting is the user's to fix, not a reason to fall back to another backend quietly.
  const threads = threadCount();
  try {
    const addon = requireWithOpenblasTimeout(file);
    if (addon.abi !== ADDON_ABI) {
      return { error: `${file} is out of date (interface ${addon.abi}, expected ${ADDON_ABI}). Fix: npm run build:native` };
    }
    addon.setThreads(threads);
    const gemm = process.env.DEEPFUSION_GEMM;
    if (gemm && !addon.selectGemm(gemm)) {
      return { error: `DEEPFUSION_GEMM="${gemm}" is not built into ${file}. Fix: use "portable" or "openblas" (needs libopenblas-dev at install)` };
    }
    return { addon, gemmChosen: Boolean(gemm) };
  } catch (err) {
    return { error: `${file} failed to load: ${(err as Error).message}. Fix: npm run build:native` };
  }
}
