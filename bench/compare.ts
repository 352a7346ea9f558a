// Trains the same T5 on deepfusion (this repo's CLI) and on PyTorch eager (bench/torch_t5.py)
// side by side: same config, initial parameters, batch, optimizer, thread count and precision
// (fp32 against fp32 eager, bf16 against torch.autocast("cpu", dtype=torch.bfloat16)), runs
// interleaved round by round (the machine may be shared), and prints a table of medians and the
// speed ratio. Run: npm run bench:compare [-- --rounds 3 --steps 6 --warmup 10 --threads 2,1 --shapes base,small --precisions fp32,bf16]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine';
import { bf16Unavailable, machinePrecision, PRECISIONS, type Precision } from '../src/engine/precision';
import { makeConfig } from '../src/model/config';
import { saveBenchInputs, type BenchOptions } from '../src/training/benchmark';
import { median } from '../src/util/stats';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PEER = path.join(ROOT, 'bench', 'torch_t5.py');

interface Shape { name: string; dModel: number; heads: number; dFf: number }

/** The acceptance shapes: T5 at d_model 512, and at 128 where per-op overheads dominate. */
const SHAPES: Shape[] = [
  { name: 'base', dModel: 512, heads: 8, dFf: 2048 },
  { name: 'small', dModel: 128, heads: 4, dFf: 512 },
];
const COMMON = { layers: 4, vocab: 8192, batch: 16, inputLen: 128, targetLen: 32 };

function shapeArgs(s: Shape): string[] {
  return ['--d-model', `${s.dModel}`, '--heads', `${s.heads}`, '--d-ff', `${s.dFf}`, '--layers', `${COMMON.layers}`,
    '--vocab', `${COMMON.vocab}`, '--batch', `${COMMON.batch}`, '--input-len', `${COMMON.inputLen}`,
    '--target-len', `${COMMON.targetLen}`, '--ff', 'gated-gelu', '--optimizer', 'adam'];
}

/** The environment of a measured run: the thread count for both engines, no OpenBLAS overrides. */
function runEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DEEPFUSION_THREADS: `${threads}` };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  delete env.OPENBLAS_NUM_THREADS;
  delete env.OMP_NUM_THREADS;
  return env;
}

/** Runs a command and returns its final JSON line. */
function lastJson(cmd: string, args: string[], env: NodeJS.ProcessEnv): Record<string, number> {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '6' }, warmup: { type: 'string', default: '10' },
      threads: { type: 'string', default: `${os.availableParallelism()}` }, shapes: { type: 'string', default: 'base,small' },
      python: { type: 'string', default: '/usr/bin/python3' }, foreach: { type: 'boolean', default: false },
      'flush-denormal': { type: 'boolean', default: false },
      precisions: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(`Usage: npm run bench:compare -- [--rounds 3] [--steps 6] [--warmup 10] [--threads 2[,1]]
                              [--shapes base,small] [--precisions fp32,bf16] [--python /usr/bin/python3] [--foreach]
                              [--flush-denormal]
Each round runs deepfusion and PyTorch once per shape and thread count (alternating which goes
first); each run reports the median of --steps steps after --warmup unmeasured steps: training
runs thousands of steps, so the steady state counts. deepfusion's first two steps allocate the
memory later steps reuse (~1.5 s slower each at the base shape), and for about ten steps more V8
is still compiling the step's JavaScript (the small shape's step settles ~10% faster); PyTorch's
steps are level after its first (docs/performance.md, "Steady state"). The table gives the
median over rounds and the median of the per-round ratios (PyTorch time / deepfusion time).
--precisions: fp32 runs both engines in float32 (PyTorch eager); bf16 runs deepfusion --precision
bf16 against PyTorch under torch.autocast("cpu", dtype=torch.bfloat16). Default: fp32, plus bf16
where this machine has AVX512-BF16 products. MFU is against the measured peak of the precision
(fp32 fused multiply-adds or bf16 dot products, deepfusion bench --help).
--foreach uses torch.optim.Adam(foreach=True) (default: PyTorch 1.13's CPU default).
--flush-denormal runs PyTorch with torch.set_flush_denormal(True), as deepfusion's native kernels
run (docs/architecture.md, "Denormals"); by default PyTorch keeps denormals, which cost it time once
the benchmark's Adam moments decay into them (docs/performance.md).`);
    return;
  }
  const rounds = Number(values.rounds);
  const { steps, warmup } = values;
  const threadCounts = values.threads.split(',').map(Number);
  const shapes = values.shapes.split(',').map((n) => {
    const s = SHAPES.find((x) => x.name === n);
    if (!s) throw new Error(`--shapes: unknown shape "${n}" (known: ${SHAPES.map((x) => x.name).join(', ')})`);
    return s;
  });
  await initEngine();
  const precisions = (values.precisions ?? (machinePrecision() === 'bf16' ? 'fp32,bf16' : 'fp32')).split(',').map((p) => {
    if (!(PRECISIONS as readonly string[]).includes(p)) throw new Error(`--precisions: unknown precision "${p}" (known: ${PRECISIONS.join(', ')})`);
    if (p === 'bf16' && machinePrecision() !== 'bf16') throw new Error(`--precisions bf16: ${bf16Unavailable()}`);
    return p as Precision;
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'df-compare-'));
  const inits = new Map<string, string>();
  for (const s of shapes) {
    const dir = path.join(work, s.name);
    fs.mkdirSync(dir);
    const opts: BenchOptions = {
      config: makeConfig({ vocab_size: COMMON.vocab, d_model: s.dModel, d_kv: s.dModel / s.heads, d_ff: s.dFf,
        num_layers: COMMON.layers, num_heads: s.heads, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false }),
      shape: { batch: COMMON.batch, inputLength: COMMON.inputLen, targetLength: COMMON.targetLen },
      optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
      steps: 1, warmup: 0, seed: 0,
    };
    saveBenchInputs(dir, opts);
    inits.set(s.name, dir);
  }

  type Row = { ours: Record<string, number>[]; torch: Record<string, number>[] };
  const rows = new Map<string, Row>();
  for (let round = 0; round < rounds; round++) {
    for (const s of shapes) {
      for (const threads of threadCounts) {
        for (const precision of precisions) {
          const key = `${s.name}/${threads}/${precision}`;
          const row = rows.get(key) ?? { ours: [], torch: [] };
          rows.set(key, row);
          const env = runEnv(threads);
          const ours = (): void => {
            row.ours.push(lastJson(process.execPath, [CLI, 'bench', ...shapeArgs(s), '--steps', steps, '--warmup', warmup, '--precision', precision], env));
          };
          const torch = (): void => {
            const args = [PEER, '--init', inits.get(s.name)!, '--steps', steps, '--warmup', warmup, '--threads', `${threads}`, '--precision', precision];
            if (values.foreach) args.push('--foreach');
            if (values['flush-denormal']) args.push('--flush-denormal');
            row.torch.push(lastJson(values.python, args, env));
          };
          const order = round % 2 === 0 ? [ours, torch] : [torch, ours];
          for (const run of order) run();
          const o = row.ours[row.ours.length - 1];
          const t = row.torch[row.torch.length - 1];
          console.error(`round ${round + 1} ${key}: deepfusion ${o.step_seconds_median.toFixed(3)} s, PyTorch ${t.step_seconds_median.toFixed(3)} s, ` +
            `ratio ${(t.step_seconds_median / o.step_seconds_median).toFixed(2)}, loss ${o.final_loss.toFixed(4)} vs ${t.final_loss.toFixed(4)}`);
        }
      }
    }
  }

  const header = ['shape', 'threads', 'precision', 'deepfusion s/step (CPU s)', 'PyTorch s/step (CPU s)', 'speed-up (median of rounds)',
    'per-round speed-ups', 'deepfusion GFLOP/s', 'peak GFLOP/s (kind)', 'MFU', 'deepfusion peak RSS MB', 'PyTorch peak RSS MB'];
  console.log(values['flush-denormal'] ? 'PyTorch with torch.set_flush_denormal(True), denormals flushed as ours are'
    : 'PyTorch as it runs by default (denormals kept; --flush-denormal flushes them as ours are)');
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => ' --- ').join('|')}|`);
  for (const [key, row] of rows) {
    const [name, threads, precision] = key.split('/');
    const ours = median(row.ours.map((r) => r.step_seconds_median));
    const torch = median(row.torch.map((r) => r.step_seconds_median));
    const ratios = row.ours.map((r, i) => row.torch[i].step_seconds_median / r.step_seconds_median);
    const flops = row.ours[0].flops_per_step;
    const peak = median(row.ours.map((r) => r.peak_gflops));
    const cpu = (rs: Record<string, number>[]): string => median(rs.map((r) => r.cpu_seconds_per_step_median)).toFixed(2);
    console.log(`| ${[name, threads, precision, `${ours.toFixed(3)} (${cpu(row.ours)})`, `${torch.toFixed(3)} (${cpu(row.torch)})`,
      `${median(ratios).toFixed(2)}x`, ratios.map((r) => r.toFixed(2)).join(' '), (flops / ours / 1e9).toFixed(1),
      `${peak.toFixed(0)} (${precision === 'bf16' ? 'bf16 dot' : 'fp32 FMA'})`, `${((flops / ours / 1e9 / peak) * 100).toFixed(1)}%`,
      median(row.ours.map((r) => r.peak_rss_mb)).toFixed(0), median(row.torch.map((r) => r.peak_rss_mb)).toFixed(0)].join(' | ')} |`);
  }
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
