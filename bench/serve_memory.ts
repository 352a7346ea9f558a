// Does the dashboard server's memory stay flat while runs stream for hours? A fast synthetic
// writer appends metrics lines (an evaluation every 100 steps, as a real run writes them) to a
// pre-training run and to a running plan's job, and a log line to the job's log, while clients
// follow the list, the run, the plan and the job. The server runs in its own process
// (`deepfusion serve`) and its resident memory is sampled from /proc. A benchmark: it prints.
//
// Usage: node dist/bench/serve_memory.js [--seconds 300] [--rate 1000]   (lines per second per file)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { configToJson } from '../src/model/config';
import type { PlanStatus } from '../src/plans/status';
import { presetConfig } from '../src/training/presets';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
/** Steps per second of a real `s` pre-training run on this machine (README): what an hour means. */
const REAL_STEPS_PER_S = 3.3;

function runJson(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({
    init: { config: configToJson(presetConfig('s', 8192)), seed: 0 }, data: { corpus: 'default', input_length: 128, batch_size: 16 }, grad_accumulation: 1,
  }));
}

function planStatus(planDir: string, key: string): void {
  const now = new Date().toISOString();
  const status: PlanStatus = {
    version: 1, plan: { name: 'stream', description: 'one job streaming', file: 'stream.yaml', repeats: 1 },
    state: 'running', pid: process.pid, host: os.hostname(), started_at: now, updated_at: now, heartbeat_s: 10,
    jobs: [{ id: 'long', key, node: 'long', kind: 'train', label: 'train s', inputs: [], repeat: 0, state: 'running', machine: os.hostname(), step: 0, total: 1e9 }],
    arms: [{ name: 'long', arm: 'long', finals: ['long'], members: [['long']] }],
  };
  fs.writeFileSync(path.join(planDir, 'status.json'), JSON.stringify(status));
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Follows an event stream and counts what arrives. */
function follow(port: number, url: string, counter: { bytes: number }): http.ClientRequest {
  return http.get({ host: '127.0.0.1', port, path: url }, (res) => res.on('data', (b: Buffer) => { counter.bytes += b.length; }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, rate: { type: 'string', default: '1000' } } });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deepfusion-bench-serve-memory-'));
  const runDir = path.join(root, 'pretrain-s');
  const planDir = path.join(root, 'stream');
  const key = '0123456789abcdef';
  const jobDir = path.join(planDir, 'jobs', key);
  runJson(runDir);
  runJson(path.join(jobDir, 'run'));
  fs.writeFileSync(path.join(jobDir, 'job.json'), JSON.stringify({ id: 'long', node: 'long', kind: 'train', settings: {}, inputs: [] }));
  planStatus(planDir, key);
  const files = [path.join(runDir, 'metrics.jsonl'), path.join(jobDir, 'run', 'metrics.jsonl')];
  const log = path.join(jobDir, 'log.txt');

  const server = spawn(process.execPath, [CLI, 'serve', root, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    server.stderr.on('data', (b: Buffer) => {
      text += b.toString();
      const m = /dashboard: http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', (code) => reject(new Error(`deepfusion serve exited (${code}): ${text}`)));
  });
  const received = { bytes: 0 };
  const clients = ['/api/stream/list', '/api/stream/run?path=pretrain-s', '/api/stream/plan?path=stream', `/api/stream/run?path=stream%2Fjobs%2F${key}`]
    .map((u) => follow(port, u, received));

  let step = 0;
  const t0 = performance.now();
  const samples: Array<{ t: number; step: number; rss: number }> = [];
  let nextSample = 0;
  while ((performance.now() - t0) / 1000 < seconds) {
    // 50 ms of lines at a time.
    const target = Math.floor(((performance.now() - t0) / 1000) * rate);
    const lines: string[] = [];
    for (; step < target; step++) {
      const s = step + 1;
      const loss = 2 + 7 * Math.exp(-s / 20000) + 0.05 * Math.sin(s);
      lines.push(JSON.stringify({ type: 'train', step: s, loss, lr: 0.01, grad_norm: 1.2, tokens: s * 2560, elapsed: s * 0.3, tokens_per_s: 8500 }));
      if (s % 100 === 0) lines.push(JSON.stringify({ type: 'eval', step: s, val_loss: loss + 0.1, val_accuracy: 0.3, val_tokens: 4096, tokens: s * 2560, elapsed: s * 0.3 }));
    }
    if (lines.length) {
      const text = `${lines.join('\n')}\n`;
      for (const f of files) fs.appendFileSync(f, text);
      fs.appendFileSync(log, `train ${step} loss ${lines.length}\n`);
    }
    const t = (performance.now() - t0) / 1000;
    if (t >= nextSample) {
      samples.push({ t, step, rss: rssMb(server.pid as number) });
      console.log(`${t.toFixed(0).padStart(5)} s  step ${String(step).padStart(9)}  server RSS ${samples.at(-1)?.rss.toFixed(1)} MB  streamed ${(received.bytes / 2 ** 20).toFixed(0)} MB`);
      nextSample += Math.max(5, seconds / 30);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const c of clients) c.destroy();
  server.kill('SIGINT');
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs: typeof samples) => xs.reduce((a, s) => a + s.rss, 0) / xs.length;
  const early = mean(samples.slice(1, 1 + third));
  const late = mean(samples.slice(-third));
  const hours = step / REAL_STEPS_PER_S / 3600;
  console.log(`${step} steps per file in ${seconds} s (${(step / REAL_STEPS_PER_S / 3600).toFixed(1)} h of a run at ${REAL_STEPS_PER_S} steps/s), ` +
    `${(received.bytes / 2 ** 20).toFixed(0)} MB streamed to 4 clients`);
  console.log(`server RSS: early third ${early.toFixed(1)} MB, last third ${late.toFixed(1)} MB, max ${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MB`);
  console.log(JSON.stringify({ seconds, rate, steps: step, hours_equivalent: hours, rss_early_mb: early, rss_late_mb: late, rss_max_mb: Math.max(...samples.map((s) => s.rss)) }));
  fs.rmSync(root, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
