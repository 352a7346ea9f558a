// How a training step's cost grows with the model: T5 at d_model 128, 256, 512 and 1024 (64-wide
// heads, d_ff 4·d_model, 4+4 layers, vocabulary 8192) on the same tokens per step (batch 16 ×
// (128 + 32)), in each precision. Each shape runs `deepfusion bench` in a fresh process (so peak
// RSS is its own) and the table gives step time, throughput, MFU against the measured peak of the
// precision, and peak RSS. Run: npm run bench:scaling [-- --steps 3 --warmup 2 --threads 2]
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine';
import { machinePrecision, PRECISIONS, type Precision } from '../src/engine/precision';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const WIDTHS = [128, 256, 512, 1024];

function bench(dModel: number, precision: Precision, steps: string, warmup: string, threads: string): Record<string, number> {
  const args = [CLI, 'bench', '--d-model', `${dModel}`, '--heads', `${dModel / 64}`, '--d-ff', `${4 * dModel}`, '--layers', '4',
    '--vocab', '8192', '--batch', '16', '--input-len', '128', '--target-len', '32', '--optimizer', 'adam',
    '--steps', steps, '--warmup', warmup, '--precision', precision];
  const env: NodeJS.ProcessEnv = { ...process.env, DEEPFUSION_THREADS: threads };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`deepfusion ${args.slice(1).join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '3' }, warmup: { type: 'string', default: '2' },
      threads: { type: 'string', default: `${os.availableParallelism()}` }, precisions: { type: 'string' },
      widths: { type: 'string', default: WIDTHS.join(',') }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(`Usage: npm run bench:scaling -- [--steps 3] [--warmup 2] [--threads N] [--precisions fp32,bf16] [--widths 128,256,512,1024]
Times T5 training steps at each d_model (64-wide heads, d_ff 4·d_model, 4+4 layers, vocabulary
8192, batch 16 × (128 + 32) tokens, Adam) in each precision (default: fp32, plus bf16 where this
machine has AVX512-BF16 products) and prints a markdown table.`);
    return;
  }
  await initEngine();
  const precisions = (values.precisions ?? (machinePrecision() === 'bf16' ? 'fp32,bf16' : 'fp32')).split(',').map((p) => {
    if (!(PRECISIONS as readonly string[]).includes(p)) throw new Error(`--precisions: unknown precision "${p}"`);
    return p as Precision;
  });
  const header = ['d_model', 'parameters', 'precision', 's/step (CPU s)', 'tokens/s', 'GFLOP/step', 'GFLOP/s', 'MFU (peak GFLOP/s)', 'peak RSS MB'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const width of values.widths.split(',').map(Number)) {
    for (const precision of precisions) {
      const r = bench(width, precision, values.steps, values.warmup, values.threads);
      const line = [width, `${(r.params / 1e6).toFixed(1)}M`, precision,
        `${r.step_seconds_median.toFixed(3)} (${r.cpu_seconds_per_step_median.toFixed(2)})`, Math.round(r.tokens_per_second),
        (r.flops_per_step / 1e9).toFixed(1), r.gflops.toFixed(1), `${(100 * r.mfu).toFixed(1)}% (${r.peak_gflops.toFixed(0)})`,
        Math.round(r.peak_rss_mb)].join(' | ');
      lines.push(`| ${line} |`);
      console.error(`d_model ${width} ${precision}: ${r.step_seconds_median.toFixed(3)} s/step, ${r.gflops.toFixed(1)} GFLOP/s`);
    }
  }
  console.log(`threads ${values.threads}, ${values.steps} measured steps after ${values.warmup} (median)`);
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
