#!/usr/bin/env node
// Two builds of the native addon's bf16 GEMM side by side, for a change to native/gemm_bf16.cc
// that must not change a bit: first every output of many products (and attention's, whose
// products pass strided operands) is compared bit for bit, on 1 and 2 threads; then the T5
// shapes' products are timed, the two builds interleaved in one process (the order alternating
// each round), medians of every call.
//
// Usage: node scripts/bf16-gemm-ab.js OLD.node NEW.node [--rounds N] [--threads 1,2] [--cold] [--cpu]
//   e.g. cp build/Release/deepfusion.node /tmp/old.node; (change, npm run build:native);
//        node scripts/bf16-gemm-ab.js /tmp/old.node build/Release/deepfusion.node
//   --cold  cycle through copies of the operands filling 64 MB, so every call finds them out of
//           cache, as a training step's products do
//   --cpu   time the process's CPU time over each batch of calls, not the wall clock: on a busy
//           machine this leaves out the time another process held the core (one thread only)
'use strict';

const path = require('node:path');

const USAGE = 'usage: node scripts/bf16-gemm-ab.js OLD.node NEW.node [--rounds N] [--threads 1,2] [--cold] [--cpu]';

function parseArgs(argv) {
  const opts = { files: [], rounds: 7, threads: [1, 2], cold: false, cpu: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--threads') opts.threads = argv[++i].split(',').map(Number);
    else if (a === '--cold') opts.cold = true;
    else if (a === '--cpu') opts.cpu = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else opts.files.push(a);
  }
  if (opts.files.length !== 2) throw new Error(USAGE);
  if (opts.cpu && opts.threads.some((t) => t > 1)) throw new Error('--cpu times one thread only: add --threads 1');
  return opts;
}

/** Values in [-1, 1) times 2^-3 … 2^3 from a seeded sequence, so roundings of every kind occur. */
function values(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = ((s >>> 8) / 2 ** 24 * 2 - 1) * 2 ** ((s & 7) - 3);
  }
  return x;
}

// m, n, k: every edge the kernel has (partial panels of 12 rows and 32 columns, odd k, two k
// blocks past 2048, several column blocks of B when k is short, a batch with a shared operand).
const SMALL = [1, 5, 12, 13, 31, 32, 33, 128, 130];
const BITS_SHAPES = [
  ...SMALL.flatMap((m) => SMALL.flatMap((n) => SMALL.map((k) => [1, 1, 1, m, n, k]))),
  ...[[2050, 130, 2049], [130, 2050, 2051], [33, 31, 4097], [13, 1000, 4100], [2047, 33, 2048], [20, 70000, 31],
    [300, 5000, 64], [2048, 512, 512], [512, 8192, 128], [512, 128, 8192]].map(([m, n, k]) => [1, 1, 1, m, n, k]),
  [3, 1, 3, 33, 40, 77], [4, 4, 1, 130, 64, 31],
];

/** Every output of the bf16 products of BITS_SHAPES and of attention, as bits. */
function outputs(addon, threads) {
  addon.setThreads(threads);
  const out = [];
  BITS_SHAPES.forEach(([batch, batchA, batchB, m, n, k], i) => {
    const a = values(batchA * m * k, 2 * i + 1), b = values(batchB * k * n, 2 * i + 2);
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const c = new Float32Array(batch * m * n);
      addon.matmul(a, b, c, batch, batchA, batchB, m, n, k, ta, tb, true);
      out.push([`${batch}×${m}×${n}×${k} transA=${ta} transB=${tb}`, c]);
    }
  });
  const [B, H, tq, tk, dk] = [2, 4, 37, 45, 32];
  const q = values(B * tq * H * dk, 1001), kk = values(B * tk * H * dk, 1002), v = values(B * tk * H * dk, 1003);
  const bias = values(H * tq * tk, 1004), dOut = values(B * tq * H * dk, 1005);
  const probs = new Float32Array(B * H * tq * tk), o = new Float32Array(B * tq * H * dk);
  addon.attention(q, kk, v, bias, null, probs, o, B, H, tq, tk, dk, false, true);
  const grads = [q, kk, v, bias].map((x) => new Float32Array(x.length));
  addon.attentionGrad(dOut, q, kk, v, probs, ...grads, B, H, tq, tk, dk, true);
  out.push(['attention probabilities', probs], ['attention output', o], ...grads.map((g, i) => [`attention gradient ${i}`, g]));
  return out;
}

function sameBits(addons, threadCounts) {
  let count = 0;
  for (const threads of threadCounts) {
    const [before, after] = addons.map((addon) => outputs(addon, threads));
    for (let i = 0; i < before.length; i++) {
      const [name, x] = before[i], y = after[i][1];
      const bx = new Uint32Array(x.buffer), by = new Uint32Array(y.buffer);
      const at = bx.findIndex((word, j) => word !== by[j]);
      if (at >= 0) throw new Error(`${name}, ${threads} thread(s): element ${at} differs (${x[at]} against ${y[at]})`);
      count++;
    }
  }
  console.log(`same bits: ${count} outputs on ${threadCounts.join(' and ')} thread(s)`);
}

// The products of the T5 steps that `deepfusion bench` measures: [label, m, n, k, transA, transB].
const TIMED_SHAPES = [
  ['small', 2048, 128, 128, false, false], ['small', 2048, 128, 128, false, true], ['small', 2048, 512, 128, false, true],
  ['small', 2048, 128, 512, false, false], ['small', 512, 8192, 128, false, true], ['small', 512, 128, 8192, false, false],
  ['small', 512, 128, 2048, true, false], ['small', 8192, 128, 512, true, false],
  ['base', 2048, 512, 512, false, true], ['base', 2048, 2048, 512, false, true], ['base', 2048, 512, 2048, false, false],
  ['base', 512, 8192, 512, false, true], ['base', 2048, 512, 2048, true, false],
];

const median = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function time(addons, opts) {
  for (const threads of opts.threads) {
    for (const addon of addons) addon.setThreads(threads);
    for (const [label, m, n, k, ta, tb] of TIMED_SHAPES) {
      const copies = opts.cold ? Math.max(2, Math.ceil(64e6 / (4 * (m * k + k * n + m * n)))) : 1;
      const operands = Array.from({ length: copies }, (_, i) => [values(m * k, 3 * i + 1), values(k * n, 3 * i + 2), new Float32Array(m * n)]);
      let turn = 0;
      const call = (addon) => {
        const [a, b, c] = operands[turn = (turn + 1) % copies];
        addon.matmul(a, b, c, 1, 1, 1, m, n, k, ta, tb, true);
      };
      const flop = 2 * m * n * k;
      const reps = Math.max(3, Math.min(40, Math.round(2e9 / flop)));
      const seconds = [[], []];
      for (const addon of addons) call(addon);
      for (let r = 0; r < opts.rounds; r++) {
        for (const which of r % 2 ? [1, 0] : [0, 1]) {
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
      const [before, after] = seconds.map(median);
      const name = `${label} ${m}×${n}×${k} ${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`;
      const show = (s) => `${(s * 1e3).toFixed(3).padStart(7)} ms ${(flop / s / 1e9).toFixed(0).padStart(4)} GFLOP/s`;
      console.log(`${threads} thread(s)  ${name.padEnd(26)} old ${show(before)}   new ${show(after)}   new/old ${(after / before).toFixed(3)}`);
    }
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  // Two copies of the same file would be one module: each build is loaded from its own path.
  const addons = opts.files.map((f) => require(path.resolve(f)));
  if (!addons.every((a) => a.info().bf16)) throw new Error('both addons need bf16 products (AVX512-BF16)');
  sameBits(addons, [1, 2]);
  time(addons, opts);
}

try {
  main();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
