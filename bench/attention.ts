// The fused attention kernels (native/attention.cc) alone, at T5's three attentions: encoder
// self-attention (128 × 128, position bias, a padding mask), decoder self-attention (32 × 32, bias,
// causal) and cross-attention (32 queries × 128 keys, padding mask), batch 16, at the small shape
// (4 heads of 32) or the base one (8 heads of 64). Times DfAttention and DfAttentionGrad (median of
// `--reps` calls after 5 warm-up calls) on one or more addon files; with several, each round runs
// each addon in a fresh process in turn, so an old build and a new one see the same machine.
//
// `--bits` instead hashes what the kernels compute (and the unfused softmax kernels that share
// native/softmax.h) on many small shapes, so two builds can be shown to give the same bits.
//
// Usage: node dist/bench/attention.js [--shape small|base] [--threads 1] [--rounds 5] [--reps 31]
//          [--precision bf16|fp32] [--addons OLD.node,NEW.node] [--bits]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ADDON_PATH, loadAddon, type NativeAddon } from '../src/engine/native/addon';
import { Rng } from '../src/util/rng';

const HUGE_PAGE_BYTES = 2 << 20;
const BATCH = 16;
// Padding as in a batch of sentences: a quarter of them full, the rest 40 to 127 tokens.
const LENGTHS = Array.from({ length: BATCH }, (_, b) => (b % 4 === 0 ? 128 : 40 + ((b * 37) % 88)));

interface Case { name: string; tq: number; tk: number; causal: boolean; bias: boolean; mask: boolean }
const CASES: Case[] = [
  { name: 'encoder self 128×128, bias + padding', tq: 128, tk: 128, causal: false, bias: true, mask: true },
  { name: 'decoder self 32×32, bias + causal', tq: 32, tk: 32, causal: true, bias: true, mask: false },
  { name: 'cross 32×128, padding', tq: 32, tk: 128, causal: false, bias: false, mask: true },
];
const SHAPES: Record<string, { heads: number; dk: number }> = { small: { heads: 4, dk: 32 }, base: { heads: 8, dk: 64 } };

/** Microseconds per call of each kernel of each case, on `addon`. */
function timeKernels(addon: NativeAddon, shape: string, bf16: boolean, reps: number): Record<string, number> {
  const { heads, dk } = SHAPES[shape];
  const rng = Rng.fromSeed(7);
  // Large arrays get huge pages, as the native backend's buffers do.
  const zeros = (n: number): Float32Array => {
    const a = new Float32Array(n);
    if (a.byteLength >= HUGE_PAGE_BYTES) addon.adviseHugePages(a);
    return a;
  };
  const random = (n: number): Float32Array => {
    const a = zeros(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform() - 0.5;
    return a;
  };
  const median = (f: () => void): number => {
    for (let i = 0; i < 5; i++) f();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = process.hrtime.bigint();
      f();
      times.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return times.sort((a, b) => a - b)[reps >> 1];
  };
  const out: Record<string, number> = {};
  for (const c of CASES) {
    const width = heads * dk;
    const q = random(BATCH * c.tq * width), k = random(BATCH * c.tk * width), v = random(BATCH * c.tk * width);
    const bias = c.bias ? random(heads * c.tq * c.tk) : null;
    const mask = c.mask ? zeros(BATCH * c.tk) : null;
    if (mask) LENGTHS.forEach((n, b) => mask.fill(1, b * c.tk, b * c.tk + Math.min(n, c.tk)));
    const probs = zeros(BATCH * heads * c.tq * c.tk), ctx = zeros(q.length);
    const dq = zeros(q.length), dk2 = zeros(k.length), dv = zeros(v.length), dBias = c.bias ? zeros(heads * c.tq * c.tk) : null;
    out[`${c.name}: DfAttention`] = median(() =>
      addon.attention(q, k, v, bias, mask, probs, ctx, BATCH, heads, c.tq, c.tk, dk, c.causal, bf16));
    out[`${c.name}: DfAttentionGrad`] = median(() =>
      addon.attentionGrad(ctx, q, k, v, probs, dq, dk2, dv, dBias, BATCH, heads, c.tq, c.tk, dk, bf16));
  }
  return out;
}

/**
 * SHA-256 of every output of the attention kernels and the unfused softmax kernels on shapes that
 * take every path of native/softmax.h: odd widths (vector tails), padding at the end and with
 * holes, fully padded rows, causal rows, large scores (exp's clamp), a NaN and an infinite score;
 * fp32 and (where built) bf16; one thread and two.
 */
function hashKernels(addon: NativeAddon): string {
  const all = createHash('sha256');
  const update = (arrays: Array<Float32Array | Float64Array | null>): void => {
    for (const a of arrays) if (a) all.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  };
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
  for (const threads of [1, 2]) {
    addon.setThreads(threads);
    const rng = Rng.fromSeed(12345);
    const random = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * scale);
    for (const bf16 of addon.info().bf16 ? [false, true] : [false]) {
      for (const withBias of [false, true]) {
        for (const c of cases) {
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
          addon.attention(q, k, v, bias, mask, probs, out, c.b, c.h, c.tq, c.tk, c.dk, c.causal, bf16);
          const dOut = random(out.length);
          const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
          const dBias = withBias ? new Float32Array(c.h * c.tq * c.tk) : null;
          addon.attentionGrad(dOut, q, k, v, probs, dq, dk, dv, dBias, c.b, c.h, c.tq, c.tk, c.dk, bf16);
          update([probs, out, dq, dk, dv, dBias]);
          // The unfused softmax on the same scores shape.
          const scores = random(probs.length, 8), soft = new Float32Array(probs.length), dScores = new Float32Array(probs.length);
          addon.attentionSoftmax(scores, bias, mask, soft, c.b, c.h, c.tq, c.tk, c.causal);
          addon.attentionSoftmaxGrad(random(probs.length), soft, dScores, c.b * c.h * c.tq, c.tk);
          update([soft, dScores]);
        }
      }
    }
    for (const [rows, cols, scale] of [[7, 5, 1], [33, 128, 4], [64, 37, 30], [5, 1000, 3], [3, 200, 100]]) {
      const x = random(rows * cols, scale);
      x[5] = NaN;
      const y = new Float32Array(x.length), dx = new Float32Array(x.length);
      addon.softmax(x, y, rows, cols);
      const labels = Int32Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? -100 : (i * 7) % cols));
      const loss = addon.crossEntropy(x, labels, rows, cols);
      addon.crossEntropyGrad(0.7, x, labels, dx, rows, cols);
      update([y, dx, Float64Array.of(loss)]);
    }
  }
  return all.digest('hex');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string', default: 'small' }, threads: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '5' }, reps: { type: 'string', default: '31' },
      precision: { type: 'string', default: 'bf16' }, addons: { type: 'string', default: ADDON_PATH },
      bits: { type: 'boolean' }, child: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(`Usage: node dist/bench/attention.js [--shape small|base] [--threads 1] [--rounds 5] [--reps 31]
         [--precision bf16|fp32] [--addons OLD.node,NEW.node] [--bits]
Times the fused attention kernels at T5's three attentions (batch 16) and prints the median
microseconds per call of each; with several addon files, each round runs each in turn in a fresh
process, and the table gives each addon's median over the rounds and the first one's time over
each other's. --bits prints, for each addon, a hash of what the attention and softmax kernels
compute on many small shapes (the same hash: the same bits).`);
    return;
  }
  if (!SHAPES[values.shape]) throw new Error(`--shape must be small or base, got "${values.shape}"`);
  if (values.precision !== 'bf16' && values.precision !== 'fp32') throw new Error(`--precision must be bf16 or fp32, got "${values.precision}"`);
  const addons = values.addons.split(',').map((f) => path.resolve(f));
  if (values.child) {
    const load = loadAddon(addons[0]);
    if ('error' in load) throw new Error(load.error);
    if (values.bits) {
      console.log(JSON.stringify(hashKernels(load.addon)));
      return;
    }
    load.addon.setThreads(Number(values.threads));
    console.log(JSON.stringify(timeKernels(load.addon, values.shape, values.precision === 'bf16', Number(values.reps))));
    return;
  }
  if (values.bits) {
    const hashes = addons.map((file) => {
      const r = spawnSync(process.execPath, [__filename, '--child', '--bits', '--addons', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${file}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as string;
    });
    addons.forEach((file, i) => console.log(`${hashes[i]}  ${file}`));
    if (addons.length > 1) console.log(hashes.every((x) => x === hashes[0]) ? 'the same bits' : 'the bits differ');
    return;
  }
  const runs: Array<Array<Record<string, number>>> = addons.map(() => []);
  for (let round = 0; round < Number(values.rounds); round++) {
    addons.forEach((file, i) => {
      const args = [__filename, '--child', '--addons', file, '--shape', values.shape, '--threads', values.threads, '--reps', values.reps,
        '--precision', values.precision];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${file}: ${r.stderr}`);
      runs[i].push(JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, number>);
    });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const names = addons.map((f, i) => `${i + 1}: ${path.relative(process.cwd(), f) || f}`);
  console.log(`${values.shape} shape, ${values.precision}, ${values.threads} thread(s), median µs over ${values.rounds} rounds`);
  console.log(`| kernel | ${names.join(' | ')} |${addons.length > 1 ? addons.slice(1).map((_, i) => ` 1 / ${i + 2} |`).join('') : ''}`);
  console.log(`| --- |${addons.map(() => ' ---: |').join('')}${addons.slice(1).map(() => ' ---: |').join('')}`);
  for (const key of Object.keys(runs[0][0])) {
    const m = runs.map((rs) => median(rs.map((r) => r[key])));
    console.log(`| ${key} | ${m.map((x) => x.toFixed(0)).join(' | ')} |${m.slice(1).map((x) => ` ${(m[0] / x).toFixed(2)}x |`).join('')}`);
  }
}

main();
