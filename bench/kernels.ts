// Two (or more) builds of the native addon side by side, for a change to a kernel that must not
// change a bit: first every output of the kernel on many shapes is compared bit for bit (and
// hashed, so a build can be named by its bits), then the kernel's calls at T5's shapes are timed,
// the builds interleaved in one process, the order rotating each round, medians of every call.
//
// The kernels are a table (KERNELS): `gemm-bf16`, the bf16 matrix product (native/gemm_bf16.cc),
// and `attention`, the fused attention and softmax kernels (native/attention.cc, native/softmax.h).
// Each gives the outputs its bit check compares and the calls its timing runs.
//
// Usage: node dist/bench/kernels.js KERNEL [--addons OLD.node,NEW.node] [--bits] [--shape small,base]
//          [--precision bf16|fp32] [--threads 1,2] [--rounds 7] [--reps N] [--cold] [--cpu]
//   e.g. cp build/Release/deepfusion.node /tmp/old.node; (change, npm run build:native);
//        node dist/bench/kernels.js gemm-bf16 --addons /tmp/old.node,build/Release/deepfusion.node --threads 1 --cpu
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ADDON_PATH, loadAddon, type NativeAddon } from '../src/engine/native/addon';
import { reportedError, UserError } from '../src/errors';
import { Rng } from '../src/util/rng';
import { median } from '../src/util/stats';

/** One output of a kernel as one build computed it: a name saying which call, and its values. */
export type Output = [name: string, values: Float32Array | Float64Array];

/** A timed call: `make` allocates one set of operands and returns the call on them for any build. */
export interface TimedCase {
  name: string;
  flop: number;
  /** The operands' bytes: --cold cycles through enough copies to overflow the caches. */
  bytes: number;
  make(rng: Rng): (addon: NativeAddon) => void;
}

export interface Kernel {
  summary: string;
  /** The precisions it runs in, the default first. */
  precisions: Precision[];
  /** The shapes --shape selects from, and those timed without it. */
  shapes: string[];
  defaultShapes: string[];
  /** Why `addon` cannot run it, if it cannot. */
  unsupported?(addon: NativeAddon): string | undefined;
  /** Every output the bit check compares, in a fixed order. */
  outputs(addon: NativeAddon): Iterable<Output>;
  /** The calls timed at `shape`; `first` is the first build, for work done once per operand set. */
  timed(shape: string, bf16: boolean, first: NativeAddon): TimedCase[];
}

type Precision = 'bf16' | 'fp32';

/** The thread counts every bit check runs on: a result must not depend on how the work is split. */
const BITS_THREADS = [1, 2];

// ---------------------------------------------------------------------------------------------
// gemm-bf16

/** Values in [-1, 1) times 2^-3 … 2^4, so that roundings of every kind occur. */
function spreadValues(n: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.uniform() * 2 - 1) * 2 ** (rng.integer(8) - 3);
  return x;
}

/** [batch, batchA, batchB, m, n, k] */
export type GemmShape = [number, number, number, number, number, number];

// m, n, k: every edge the kernel has (partial panels of 12 rows and 32 columns, odd k, two k
// blocks past 2048, several column blocks of B when k is short, a batch with a shared operand, an
// Aᵀ too large to be packed whole: 4200 × 2048).
const SMALL = [1, 5, 12, 13, 31, 32, 33, 128, 130];
export const GEMM_BITS_SHAPES: GemmShape[] = [
  ...SMALL.flatMap((m) => SMALL.flatMap((n) => SMALL.map((k): GemmShape => [1, 1, 1, m, n, k]))),
  ...[[2050, 130, 2049], [130, 2050, 2051], [33, 31, 4097], [13, 1000, 4100], [2047, 33, 2048], [20, 70000, 31],
    [300, 5000, 64], [2048, 512, 512], [512, 8192, 128], [512, 128, 8192], [4200, 40, 2048]].map(([m, n, k]): GemmShape => [1, 1, 1, m, n, k]),
  [3, 1, 3, 33, 40, 77], [4, 4, 1, 130, 64, 31],
];

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

/**
 * Every output of the bf16 products of `shapes` with each transposition, and of attention (whose
 * products pass strided operands), on one thread and on two.
 */
export function* gemmOutputs(addon: NativeAddon, shapes: GemmShape[] = GEMM_BITS_SHAPES): Generator<Output> {
  for (const threads of BITS_THREADS) {
    addon.setThreads(threads);
    for (const [i, [batch, batchA, batchB, m, n, k]] of shapes.entries()) {
      const rng = Rng.fromSeed(1, i);
      const a = spreadValues(batchA * m * k, rng), b = spreadValues(batchB * k * n, rng);
      for (const [ta, tb] of TRANSPOSES) {
        const c = new Float32Array(batch * m * n);
        addon.matmul(a, b, c, batch, batchA, batchB, m, n, k, ta, tb, true, null, null);
        yield [`${batch}×${m}×${n}×${k} transA=${ta} transB=${tb}, ${threads} thread(s)`, c];
      }
    }
    const [B, H, tq, tk, dk] = [2, 4, 37, 45, 32];
    const rng = Rng.fromSeed(2);
    const q = spreadValues(B * tq * H * dk, rng), kk = spreadValues(B * tk * H * dk, rng), v = spreadValues(B * tk * H * dk, rng);
    const bias = spreadValues(H * tq * tk, rng), dOut = spreadValues(B * tq * H * dk, rng);
    const probs = new Float32Array(B * H * tq * tk), o = new Float32Array(q.length);
    addon.attention(q, kk, v, bias, null, probs, o, null, B, H, tq, tk, dk, false, true);
    const [dq, dkk, dv, dBias] = [q, kk, v, bias].map((x) => new Float32Array(x.length));
    addon.attentionGrad(dOut, q, kk, v, probs, dq, dkk, dv, null, null, null, dBias, B, H, tq, tk, dk, true);
    const names = ['probabilities', 'output', 'dQ', 'dK', 'dV', 'dBias'];
    for (const [j, x] of [probs, o, dq, dkk, dv, dBias].entries()) yield [`attention ${names[j]}, ${threads} thread(s)`, x];
  }
}

// The products of the T5 steps that `deepfusion bench` measures: [shape, m, n, k, transA, transB].
const GEMM_TIMED: Array<[string, number, number, number, boolean, boolean]> = [
  ['small', 2048, 128, 128, false, false], ['small', 2048, 128, 128, false, true], ['small', 2048, 512, 128, false, true],
  ['small', 2048, 128, 512, false, false], ['small', 512, 8192, 128, false, true], ['small', 512, 128, 8192, false, false],
  ['small', 512, 128, 2048, true, false], ['small', 8192, 128, 512, true, false],
  ['base', 2048, 512, 512, false, true], ['base', 2048, 2048, 512, false, true], ['base', 2048, 512, 2048, false, false],
  ['base', 512, 8192, 512, false, true], ['base', 2048, 512, 2048, true, false],
  // The weight gradients with 512 rows (Aᵀ·B): q, k, v and o's in the encoder, wi's, the decoder's.
  ['base', 512, 512, 2048, true, false], ['base', 512, 2048, 2048, true, false], ['base', 512, 512, 512, true, false],
];

const GEMM_BF16: Kernel = {
  summary: `the bf16 matrix product (native/gemm_bf16.cc): bits of the products of ${GEMM_BITS_SHAPES.length} shapes in each `
    + 'transposition, and attention\'s products, on 1 and 2 threads; timed at the products of a T5 step',
  precisions: ['bf16'],
  shapes: ['small', 'base'],
  defaultShapes: ['small', 'base'],
  unsupported: (addon) => (addon.info().bf16 ? undefined : 'was built without bf16 products (needs AVX512-BF16)'),
  outputs: (addon) => gemmOutputs(addon),
  timed: (shape) => GEMM_TIMED.filter(([s]) => s === shape).map(([s, m, n, k, ta, tb]) => ({
    name: `${s} ${m}×${n}×${k} ${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`,
    flop: 2 * m * n * k,
    bytes: 4 * (m * k + k * n + m * n),
    make: (rng) => {
      const a = spreadValues(m * k, rng), b = spreadValues(k * n, rng), c = new Float32Array(m * n);
      return (addon) => addon.matmul(a, b, c, 1, 1, 1, m, n, k, ta, tb, true, null, null);
    },
  })),
};

// ---------------------------------------------------------------------------------------------
// attention

/**
 * Every output of the attention kernels and the unfused softmax kernels on shapes that take every
 * path of native/softmax.h: odd widths (vector tails), padding at the end and with holes, fully
 * padded rows, causal rows, large scores (exp's clamp), a NaN and an infinite score; fp32 and
 * (where built) bf16; one thread and two. docs/performance.md quotes the SHA-256 of these outputs
 * in this order: the shapes, the values drawn and the order must stay as they are.
 */
export function* attentionOutputs(addon: NativeAddon): Generator<Output> {
  const cases = [
    { b: 3, h: 2, tq: 7, tk: 7, dk: 5, causal: false, lengths: [7, 4, 1] },
    { b: 2, h: 3, tq: 6, tk: 6, dk: 4, causal: true, lengths: null },
    { b: 5, h: 2, tq: 3, tk: 9, dk: 8, causal: false, lengths: [9, 2, 5, 0, 9] },
    { b: 4, h: 4, tq: 128, tk: 128, dk: 32, causal: false, lengths: [128, 100, 1, 64] },
    { b: 3, h: 4, tq: 32, tk: 32, dk: 32, causal: true, lengths: null },
    { b: 3, h: 4, tq: 32, tk: 128, dk: 32, causal: false, lengths: [128, 77, 3] },
    { b: 2, h: 3, tq: 37, tk: 53, dk: 24, causal: false, lengths: [53, 20], holes: true },
    { b: 2, h: 2, tq: 45, tk: 45, dk: 64, causal: true, lengths: [45, 30], scale: 6 },
    { b: 2, h: 8, tq: 64, tk: 64, dk: 64, causal: false, lengths: null, scale: 3 },
    { b: 2, h: 2, tq: 17, tk: 33, dk: 16, causal: false, lengths: null, nonFinite: true },
    { b: 2, h: 2, tq: 200, tk: 200, dk: 16, causal: true, lengths: [200, 150] },
  ];
  for (const threads of BITS_THREADS) {
    addon.setThreads(threads);
    const rng = Rng.fromSeed(12345);
    const random = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * scale);
    for (const bf16 of addon.info().bf16 ? [false, true] : [false]) {
      for (const withBias of [false, true]) {
        for (const c of cases) {
          const label = `${bf16 ? 'bf16' : 'fp32'}${withBias ? ', bias' : ''}, ${c.b}×${c.h}×${c.tq}×${c.tk}×${c.dk}`
            + `${c.causal ? ' causal' : ''}, ${threads} thread(s)`;
          const width = c.h * c.dk;
          const q = random(c.b * c.tq * width, c.scale), k = random(c.b * c.tk * width, c.scale), v = random(c.b * c.tk * width);
          if (c.nonFinite) {
            q[3] = NaN;
            k[7 * width + 1] = Infinity;
          }
          const bias = withBias ? random(c.h * c.tq * c.tk, 4) : null;
          const mask = c.lengths ? new Float32Array(c.b * c.tk) : null;
          c.lengths?.forEach((n, b) => {
            for (let j = 0; j < c.tk; j++) mask![b * c.tk + j] = c.holes ? Number((j * 7 + b) % 3 !== 0) : Number(j < n);
          });
          const probs = new Float32Array(c.b * c.h * c.tq * c.tk), out = new Float32Array(q.length);
          addon.attention(q, k, v, bias, mask, probs, out, null, c.b, c.h, c.tq, c.tk, c.dk, c.causal, bf16);
          const dOut = random(out.length);
          const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
          const dBias = withBias ? new Float32Array(c.h * c.tq * c.tk) : null;
          addon.attentionGrad(dOut, q, k, v, probs, dq, dk, dv, null, null, null, dBias, c.b, c.h, c.tq, c.tk, c.dk, bf16);
          yield [`attention probabilities, ${label}`, probs];
          yield [`attention output, ${label}`, out];
          yield [`attention dQ, ${label}`, dq];
          yield [`attention dK, ${label}`, dk];
          yield [`attention dV, ${label}`, dv];
          if (dBias) yield [`attention dBias, ${label}`, dBias];
          // The unfused softmax on the same scores shape.
          const scores = random(probs.length, 8), soft = new Float32Array(probs.length), dScores = new Float32Array(probs.length);
          addon.attentionSoftmax(scores, bias, mask, soft, c.b, c.h, c.tq, c.tk, c.causal);
          addon.attentionSoftmaxGrad(random(probs.length), soft, dScores, c.b * c.h * c.tq, c.tk);
          yield [`attention softmax, ${label}`, soft];
          yield [`attention softmax gradient, ${label}`, dScores];
        }
      }
    }
    for (const [rows, cols, scale] of [[7, 5, 1], [33, 128, 4], [64, 37, 30], [5, 1000, 3], [3, 200, 100]]) {
      const label = `${rows}×${cols}, ${threads} thread(s)`;
      const x = random(rows * cols, scale);
      x[5] = NaN;
      const y = new Float32Array(x.length), dx = new Float32Array(x.length);
      addon.softmax(x, y, rows, cols);
      const labels = Int32Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? -100 : (i * 7) % cols));
      const loss = addon.crossEntropy(x, labels, rows, cols);
      addon.crossEntropyGrad(0.7, x, labels, dx, rows, cols);
      yield [`softmax, ${label}`, y];
      yield [`cross-entropy gradient, ${label}`, dx];
      yield [`cross-entropy, ${label}`, Float64Array.of(loss)];
    }
  }
}

const HUGE_PAGE_BYTES = 2 << 20;
const BATCH = 16;
// Padding as in a batch of sentences: a quarter of them full, the rest 40 to 127 tokens.
const LENGTHS = Array.from({ length: BATCH }, (_, b) => (b % 4 === 0 ? 128 : 40 + ((b * 37) % 88)));

// T5's three attentions, batch 16.
const ATTENTION_CASES = [
  { name: 'encoder self 128×128, bias + padding', tq: 128, tk: 128, causal: false, bias: true, mask: true },
  { name: 'decoder self 32×32, bias + causal', tq: 32, tk: 32, causal: true, bias: true, mask: false },
  { name: 'cross 32×128, padding', tq: 32, tk: 128, causal: false, bias: false, mask: true },
];
const ATTENTION_SHAPES: Record<string, { heads: number; dk: number }> = { small: { heads: 4, dk: 32 }, base: { heads: 8, dk: 64 } };

/** DfAttention and DfAttentionGrad at each of T5's attentions; the operands get huge pages, as the backend's buffers do. */
function attentionTimed(shape: string, bf16: boolean, first: NativeAddon): TimedCase[] {
  const { heads, dk } = ATTENTION_SHAPES[shape];
  return ATTENTION_CASES.flatMap((c) => {
    const width = heads * dk;
    const zeros = (n: number): Float32Array => {
      const a = new Float32Array(n);
      if (a.byteLength >= HUGE_PAGE_BYTES) first.adviseHugePages(a);
      return a;
    };
    const operands = (rng: Rng) => {
      const random = (n: number): Float32Array => {
        const a = zeros(n);
        for (let i = 0; i < n; i++) a[i] = rng.uniform() - 0.5;
        return a;
      };
      const q = random(BATCH * c.tq * width), k = random(BATCH * c.tk * width), v = random(BATCH * c.tk * width);
      const bias = c.bias ? random(heads * c.tq * c.tk) : null;
      const mask = c.mask ? zeros(BATCH * c.tk) : null;
      if (mask) LENGTHS.forEach((n, b) => mask.fill(1, b * c.tk, b * c.tk + Math.min(n, c.tk)));
      const probs = zeros(BATCH * heads * c.tq * c.tk), out = zeros(q.length);
      const forward = (addon: NativeAddon): void =>
        addon.attention(q, k, v, bias, mask, probs, out, null, BATCH, heads, c.tq, c.tk, dk, c.causal, bf16);
      return { q, k, v, bias, probs, out, forward };
    };
    // Two products of 2·tq·tk·dk per head forward, four backward.
    const flop = 4 * BATCH * heads * c.tq * c.tk * dk;
    const bytes = 4 * (BATCH * (2 * c.tq + 2 * c.tk) * width + BATCH * heads * c.tq * c.tk);
    return [
      { name: `${c.name}: DfAttention`, flop, bytes, make: (rng: Rng) => operands(rng).forward },
      {
        name: `${c.name}: DfAttentionGrad`, flop: 2 * flop, bytes: 2 * bytes,
        make: (rng: Rng) => {
          const { q, k, v, bias, probs, out, forward } = operands(rng);
          forward(first);
          const dq = zeros(q.length), dK = zeros(k.length), dv = zeros(v.length), dBias = bias ? zeros(bias.length) : null;
          return (addon: NativeAddon) => addon.attentionGrad(out, q, k, v, probs, dq, dK, dv, null, null, null, dBias, BATCH, heads, c.tq, c.tk, dk, bf16);
        },
      },
    ];
  });
}

const ATTENTION: Kernel = {
  summary: 'the fused attention kernels (native/attention.cc) and the softmax kernels sharing native/softmax.h: '
    + 'bits on 11 shapes of every softmax path; timed as DfAttention and DfAttentionGrad at T5\'s three attentions, batch 16',
  precisions: ['bf16', 'fp32'],
  shapes: ['small', 'base'],
  defaultShapes: ['small'],
  outputs: attentionOutputs,
  timed: attentionTimed,
};

export const KERNELS: Record<string, Kernel> = { 'gemm-bf16': GEMM_BF16, attention: ATTENTION };

// ---------------------------------------------------------------------------------------------
// The bit check and the timing, for any kernel

export interface BitsResult {
  /** Outputs compared (or hashed, with one build). */
  count: number;
  /** SHA-256 of each build's outputs in order. */
  hashes: string[];
  /** The first output whose bits differ between the first build and another, and where; null when none does. */
  difference: string | null;
}

/** Bytes of a typed array, for hashing and comparing. */
const bytesOf = (a: Float32Array | Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Hashes each build's outputs and compares them with the first build's, output by output and bit
 * by bit (a NaN is the same only with the same payload). The outputs are computed in lockstep, so
 * no build's outputs are held whole.
 */
export function compareBits(streams: Array<Iterable<Output>>, files: string[] = streams.map((_, i) => `build ${i + 1}`)): BitsResult {
  const hashes = streams.map(() => createHash('sha256'));
  const iterators = streams.map((s) => s[Symbol.iterator]());
  const counts = streams.map(() => 0);
  let difference: string | null = null;
  for (;;) {
    const steps = iterators.map((it) => it.next());
    if (steps.every((s) => s.done)) break;
    // A build with fewer outputs (no bf16 products, say) still has all of its own hashed.
    steps.forEach((s, i) => {
      if (s.done) return;
      hashes[i].update(bytesOf((s.value as Output)[1]));
      counts[i]++;
    });
    if (difference !== null || steps.some((s) => s.done)) continue;
    const [name, x] = steps[0].value as Output;
    for (let i = 1; i < steps.length && difference === null; i++) {
      const [otherName, y] = steps[i].value as Output;
      difference = differenceOf(name, x, otherName, y, files[0], files[i]);
    }
  }
  const other = counts.findIndex((n) => n !== counts[0]);
  if (difference === null && other >= 0) difference = `${files[0]} gives ${counts[0]} outputs, ${files[other]} ${counts[other]}`;
  return { count: counts[0], hashes: hashes.map((h) => h.digest('hex')), difference };
}

function differenceOf(name: string, x: Output[1], otherName: string, y: Output[1], fileX: string, fileY: string): string | null {
  if (name !== otherName) return `output ${name} of ${fileX} stands where ${fileY} has ${otherName}`;
  if (x.length !== y.length || x.constructor !== y.constructor) return `${name}: ${x.length} values in ${fileX}, ${y.length} in ${fileY}`;
  const bx = bytesOf(x), by = bytesOf(y);
  if (bx.equals(by)) return null;
  let at = 0;
  while (bx[at] === by[at]) at++;
  const element = Math.floor(at / x.BYTES_PER_ELEMENT);
  return `${name}: element ${element} is ${x[element]} in ${fileX} and ${y[element]} in ${fileY}`;
}

const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Operand copies of this many bytes in all are cycled under --cold, so every call finds its operands out of cache. */
const COLD_BYTES = 64e6;
const WARMUP_CALLS = 3;

export interface TimingOptions { rounds: number; reps?: number; cold: boolean; cpu: boolean }

/**
 * Seconds per call of `c` on each build: the builds interleaved, the order rotating each round;
 * the median of every call (with `cpu`, of every round's batch of calls, in the process's CPU time).
 */
export function timeCase(addons: NativeAddon[], c: TimedCase, opts: TimingOptions): number[] {
  const copies = opts.cold ? Math.max(2, Math.ceil(COLD_BYTES / c.bytes)) : 1;
  const calls = Array.from({ length: copies }, (_, i) => c.make(Rng.fromSeed(7, i)));
  let turn = 0;
  const call = (addon: NativeAddon): void => calls[turn = (turn + 1) % copies](addon);
  const reps = opts.reps ?? Math.max(3, Math.min(40, Math.round(2e9 / c.flop)));
  // Every copy once at least, so no timed call is the first to touch its pages.
  for (const addon of addons) for (let i = 0; i < Math.max(WARMUP_CALLS, copies); i++) call(addon);
  const seconds: number[][] = addons.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (let j = 0; j < addons.length; j++) {
      const which = (j + r) % addons.length;
      pause(3); // the other build's pool workers stop polling (200 µs) before this one runs
      call(addons[which]);
      if (opts.cpu) {
        const u0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) call(addons[which]);
        const u = process.cpuUsage(u0);
        seconds[which].push((u.user + u.system) / 1e6 / reps);
      } else {
        for (let i = 0; i < reps; i++) {
          const t0 = process.hrtime.bigint();
          call(addons[which]);
          seconds[which].push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
      }
    }
  }
  return seconds.map(median);
}

// ---------------------------------------------------------------------------------------------
// The command line

const USAGE = `Usage: node dist/bench/kernels.js KERNEL [--addons OLD.node,NEW.node] [--bits] [--shape small,base]
         [--precision bf16|fp32] [--threads 1,2] [--rounds 7] [--reps N] [--cold] [--cpu]`;

function help(): string {
  const kernels = Object.entries(KERNELS).map(([name, k]) =>
    `  ${name.padEnd(10)} ${k.summary}; --precision ${k.precisions.join('|')}, --shape ${k.shapes.join(',')} `
    + `(default ${k.defaultShapes.join(',')})`);
  return `${USAGE}

Compares builds of the native addon on one kernel: first the bits of every output of the kernel on
many shapes, on 1 and 2 threads (each build's SHA-256 of them, and the first output that differs
between the first build and another), then the median time per call of the kernel at T5's
shapes, the builds interleaved in one process, the order rotating each round.

Kernels:
${kernels.join('\n')}

Options:
  --addons A,B   the addon files (default ${path.relative(process.cwd(), ADDON_PATH) || ADDON_PATH}); a portable build is
                 in build-portable/build/Release/deepfusion.node
  --bits         the bits only: the hashes, and with several builds whether they agree
                 (exit code 1 when they do not)
  --shape S,..   the shapes timed (small: d_model 128, base: d_model 512)
  --precision P  bf16 products or fp32 (default: the kernel's first)
  --threads N,.. thread counts timed (default 1)
  --rounds N     interleaved rounds (default 7)
  --reps N       calls per build per round (default: 2 GFLOP's worth, 3 to 40)
  --cold         cycle through copies of the operands filling 64 MB, so every call finds them out of
                 cache, as a training step's calls do
  --cpu          time the process's CPU time over each round's calls, not the wall clock: on a busy
                 machine this leaves out the time another process held the core (one thread only)
docs/performance.md has the measurements taken with it.`;
}

export interface Options {
  kernel: string;
  addons: string[];
  bits: boolean;
  shapes: string[];
  precision: Precision;
  threads: number[];
  timing: TimingOptions;
}

const positiveInteger = (flag: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got "${text}"`);
  return n;
};

/** The options of `argv`, or a UserError naming the flag and the fix; null for --help. */
export function parseOptions(argv: string[]): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        addons: { type: 'string', default: ADDON_PATH }, bits: { type: 'boolean', default: false },
        shape: { type: 'string' }, precision: { type: 'string' }, threads: { type: 'string', default: '1' },
        rounds: { type: 'string', default: '7' }, reps: { type: 'string' },
        cold: { type: 'boolean', default: false }, cpu: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UserError(`${(err as Error).message.split('\n')[0]}. Fix: see node dist/bench/kernels.js --help`);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  const names = Object.keys(KERNELS).join(' or ');
  if (positionals.length !== 1) throw new UserError(`name one kernel: ${names}. ${USAGE.replace(/\s+/g, ' ')}`);
  const kernel = KERNELS[positionals[0]];
  if (!kernel) throw new UserError(`unknown kernel "${positionals[0]}": name ${names}`);
  const shapes = values.shape?.split(',') ?? kernel.defaultShapes;
  for (const s of shapes) if (!kernel.shapes.includes(s)) throw new UserError(`--shape must be ${kernel.shapes.join(' or ')}, got "${s}"`);
  const precision = (values.precision ?? kernel.precisions[0]) as Precision;
  if (!kernel.precisions.includes(precision)) {
    throw new UserError(`--precision must be ${kernel.precisions.join(' or ')} for ${positionals[0]}, got "${values.precision}"`);
  }
  const threads = values.threads.split(',').map((t) => positiveInteger('--threads', t));
  if (values.cpu && threads.some((t) => t > 1)) throw new UserError('--cpu times one thread only: add --threads 1');
  return {
    kernel: positionals[0], addons: values.addons.split(',').map((f) => path.resolve(f)), bits: values.bits, shapes, precision, threads,
    timing: {
      rounds: positiveInteger('--rounds', values.rounds), reps: values.reps === undefined ? undefined : positiveInteger('--reps', values.reps),
      cold: values.cold, cpu: values.cpu,
    },
  };
}

/** The addon in `file`, able to run `kernel` (in `precision`, when given), or a UserError saying why not. */
function load(file: string, kernel: Kernel, name: string, precision?: Precision): NativeAddon {
  const loaded = loadAddon(file);
  if ('error' in loaded) throw new UserError(loaded.error);
  const why = kernel.unsupported?.(loaded.addon) ?? (precision === 'bf16' && !loaded.addon.info().bf16
    ? 'was built without bf16 products (needs AVX512-BF16)' : undefined);
  if (why) throw new UserError(`${file} ${why}, so it cannot run ${name}${kernel.precisions.length > 1 ? '. Fix: --precision fp32' : ''}`);
  return loaded.addon;
}

const shown = (file: string): string => path.relative(process.cwd(), file) || file;

function printBits(opts: Options, kernel: Kernel, addons: NativeAddon[]): boolean {
  const files = opts.addons.map(shown);
  const result = compareBits(addons.map((a) => kernel.outputs(a)), files);
  result.hashes.forEach((h, i) => console.log(`${h}  ${files[i]}`));
  if (addons.length > 1) {
    console.log(result.difference === null
      ? `the same bits: ${result.count} outputs on ${BITS_THREADS.join(' and ')} threads`
      : `the bits differ: ${result.difference}`);
  }
  return result.difference === null;
}

function printTimes(opts: Options, kernel: Kernel, addons: NativeAddon[]): void {
  const files = opts.addons.map(shown);
  const ratios = files.slice(1).map((_, i) => ` 1 / ${i + 2} |`).join('');
  for (const threads of opts.threads) {
    for (const addon of addons) addon.setThreads(threads);
    console.log(`\n${opts.kernel}, ${opts.precision}, ${threads} thread(s)${opts.timing.cold ? ', cold operands' : ''}: `
      + `median ${opts.timing.cpu ? 'CPU' : 'wall'} µs per call (GFLOP/s) over ${opts.timing.rounds} interleaved rounds`);
    console.log(`| call | ${files.map((f, i) => `${i + 1}: ${f}`).join(' | ')} |${ratios}`);
    console.log(`| --- |${files.map(() => ' ---: |').join('')}${files.slice(1).map(() => ' ---: |').join('')}`);
    for (const shape of opts.shapes) {
      for (const c of kernel.timed(shape, opts.precision === 'bf16', addons[0])) {
        const s = timeCase(addons, c, opts.timing);
        const cells = s.map((x) => `${(x * 1e6).toFixed(x < 1e-3 ? 1 : 0)} (${(c.flop / x / 1e9).toFixed(0)})`);
        console.log(`| ${c.name} | ${cells.join(' | ')} |${s.slice(1).map((x) => ` ${(s[0] / x).toFixed(3)}x |`).join('')}`);
      }
    }
  }
}

function main(argv: string[]): void {
  const opts = parseOptions(argv);
  if (!opts) {
    console.log(help());
    return;
  }
  const kernel = KERNELS[opts.kernel];
  // Each build is loaded from its own path: two paths of the same file would be one module.
  // The bit check covers every precision the build has; only the timing needs --precision's.
  const addons = opts.addons.map((f) => load(f, kernel, opts.kernel, opts.bits ? undefined : opts.precision));
  if (opts.bits || addons.length > 1) {
    const same = printBits(opts, kernel, addons);
    if (opts.bits) {
      if (!same) process.exitCode = 1;
      return;
    }
  }
  printTimes(opts, kernel, addons);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    const reported = reportedError(err);
    if (!reported) throw err;
    console.error(`error: ${reported.message}`);
    process.exitCode = reported.exitCode;
  }
}
