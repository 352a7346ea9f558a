// Loads the C++ addon built by scripts/build-native.js and declares what it exports. Every
// function reads and writes typed arrays in place; shapes arrive as plain numbers or a small
// Float64Array layout, so crossing into C++ costs a function call and nothing more.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors';

export interface AddonInfo {
  /** GEMM kernel in use: 'openblas' or 'portable'. */
  gemm: 'openblas' | 'portable';
  /** OpenBLAS's build and core description when gemm is 'openblas'. */
  gemmLibrary: string;
  openblasBuiltIn: boolean;
  threads: number;
  simd: string;
}

type F32 = Float32Array;
type Maybe<T> = T | null;

/** The addon's interface version this code was written against (native/addon.cc kAbi). */
export const ADDON_ABI = 4;

export interface NativeAddon {
  abi: number;
  info(): AddonInfo;
  setThreads(threads: number): void;
  selectGemm(name: string): boolean;
  /** Asks the OS to back the array's whole 2 MiB pages with huge pages (before it is first written). */
  adviseHugePages(array: F32): void;
  matmul(a: F32, b: F32, c: F32, batch: number, batchA: number, batchB: number,
    m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  binaryOps: string[];
  unaryOps: string[];
  reduceOps: string[];
  binary(op: number, a: F32, b: F32, out: F32, layout: Float64Array): void;
  unary(op: number, x: F32, out: F32, param: number): void;
  reduce(op: number, x: F32, out: F32, outer: number, n: number, inner: number): void;
  transpose(x: F32, out: F32, layout: Float64Array): void;
  /** Indices must be in [0, axisDim) (checked by the caller). */
  gather(params: F32, indices: Int32Array, out: F32, outer: number, axisDim: number, inner: number): void;
  segmentSum(data: F32, ids: Int32Array, out: F32, inner: number, numSegments: number): void;
  softmax(logits: F32, out: F32, rows: number, cols: number): void;
  rmsNorm(x: F32, w: F32, y: F32, rows: number, d: number, groups: Int32Array, eps: number): void;
  rmsNormGrad(dy: F32, x: F32, w: F32, dx: F32, dw: F32, rows: number, d: number, groups: Int32Array, eps: number): void;
  attentionSoftmax(scores: F32, bias: Maybe<F32>, keyMask: Maybe<F32>, out: F32,
    batch: number, heads: number, queries: number, keys: number, causal: boolean): void;
  attentionSoftmaxGrad(dy: F32, probs: F32, dx: F32, rows: number, keys: number): void;
  /** The mean loss; labels must be −100 or in [0, vocab) (checked by the caller). */
  crossEntropy(logits: F32, labels: Int32Array, rows: number, vocab: number): number;
  crossEntropyGrad(dLoss: number, logits: F32, labels: Int32Array, dx: F32, rows: number, vocab: number): void;
  gatedGelu(gate: F32, linear: F32, out: F32): void;
  gatedGeluGrad(dy: F32, gate: F32, linear: F32, dGate: F32, dLinear: F32): void;
  attentionScores(q: F32, k: F32, out: F32, batch: number, heads: number, queries: number, keys: number, dk: number): void;
  attentionContext(p: F32, x: F32, out: F32, batch: number, heads: number, rows: number, cols: number, dk: number,
    transposeP: boolean): void;
  adamw(param: F32, grad: F32, m: F32, v: F32, outParam: F32, outM: F32, outV: F32,
    learningRate: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, step: number,
    gradScale: number): void;
  /**
   * Factored (param = mats × rows × cols, vOrVr [mats·rows], vc [mats·cols]) when vc is given,
   * else unfactored (vOrVr shaped like param); m and outM only with beta1 > 0.
   */
  adafactor(param: F32, grad: F32, vOrVr: F32, vc: Maybe<F32>, m: Maybe<F32>, outParam: F32, outVOrVr: F32,
    outVc: Maybe<F32>, outM: Maybe<F32>, mats: number, rows: number, cols: number, learningRate: number, beta2: number,
    eps1: number, eps2: number, clipThreshold: number, scaleParameter: boolean, beta1: number, weightDecay: number,
    gradScale: number): void;
}

/** The package root (this file runs from dist/src/engine/native). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'deepfusion.node');
/** The variant built without OpenBLAS (scripts/build-native.js builds it beside the main one). */
export const PORTABLE_ADDON_PATH = path.join(PACKAGE_ROOT, 'build-portable', 'build', 'Release', 'deepfusion.node');
const BUILD_REPORT = path.join(PACKAGE_ROOT, 'build', 'native-build.json');

export type AddonLoad = { addon: NativeAddon } | { error: string };

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
    return { addon };
  } catch (err) {
    return { error: `${file} failed to load: ${(err as Error).message}. Fix: npm run build:native` };
  }
}
