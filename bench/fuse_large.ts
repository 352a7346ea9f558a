// Time and peak memory of `deepfusion fuse` on two d_model-512 T5s (d_kv 64, 8 heads, d_ff 2048,
// 4+4 layers, vocab 8192, gated-gelu, untied): the fusion streams tensor by tensor, so its peak
// RSS should stay far below the fused checkpoint's size.
//
// Usage: node dist/bench/fuse_large.js [work-dir]    (default /tmp/deepfusion-bench-fuse)
// The sources are created in work-dir on the first run (initParams + saveModel) and reused; the
// fusion runs in a child process under /usr/bin/time -v so that creating them does not count.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initEngine } from '../src/engine';
import { saveModel } from '../src/io/checkpoint';
import { makeConfig } from '../src/model/config';
import { disposeParams, initParams } from '../src/model/params';
import { formatBytes } from '../src/cli/format';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const SHAPE = { vocab_size: 8192, d_model: 512, d_kv: 64, num_heads: 8, d_ff: 2048, num_layers: 4 };

async function ensureSource(dir: string, seed: number): Promise<void> {
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return;
  const config = makeConfig(SHAPE);
  const params = initParams(config, seed);
  await saveModel(dir, { config, params });
  disposeParams(params);
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

/** Runs the CLI under GNU time; returns its stdout, wall seconds and peak RSS in bytes. */
function timed(args: string[]): { stdout: string; seconds: number; maxRss: number } {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`deepfusion ${args.join(' ')} failed:\n${r.stderr}`);
  const field = (label: string): string => {
    const m = new RegExp(`${label}: (.+)`).exec(r.stderr);
    if (!m) throw new Error(`no "${label}" in /usr/bin/time output`);
    return m[1].trim();
  };
  const wall = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').map(Number);
  const seconds = wall.reduce((acc, x) => acc * 60 + x, 0);
  return { stdout: r.stdout, seconds, maxRss: Number(field('Maximum resident set size \\(kbytes\\)')) * 1024 };
}

async function main(): Promise<void> {
  const work = path.resolve(process.argv[2] ?? '/tmp/deepfusion-bench-fuse');
  await initEngine('cpu');
  const [a, b, out] = ['a', 'b', 'fused'].map((n) => path.join(work, n));
  await ensureSource(a, 1);
  await ensureSource(b, 2);
  console.log(`sources: 2 × ${formatBytes(dirBytes(a))} (${JSON.stringify(SHAPE)}, gated-gelu, untied)`);
  console.log(`baseline: \`deepfusion --help\` (node + tfjs loaded) peaks at ${formatBytes(timed(['--help']).maxRss)}`);
  for (const norm of ['grouped', 'joint']) {
    // Joint fusion would verify on a probe batch by default; pass a case to keep this about fusion alone.
    const r = timed(['fuse', a, b, '-o', out, '--norm', norm, ...(norm === 'joint' ? ['--verify', probeCaseFile(work)] : [])]);
    console.log(`fuse --norm ${norm}: ${r.seconds.toFixed(2)} s wall, peak RSS ${formatBytes(r.maxRss)}, ` +
      `output ${formatBytes(dirBytes(out))}${norm === 'joint' ? ' (includes verification: loads all three models)' : ''}`);
    console.log(r.stdout.trimEnd().replace(/^/gm, '    '));
  }
  fs.rmSync(out, { recursive: true, force: true });
}

/** A one-row case for the joint run's verification. */
function probeCaseFile(work: string): string {
  const file = path.join(work, 'case.json');
  fs.writeFileSync(file, JSON.stringify({ input_ids: [[5, 6, 7, 8]], labels: [[9, 10]] }));
  return file;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
