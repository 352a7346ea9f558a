// The cost of running jobs through the queue (redis-server on a free loopback port, a store
// directory), against the local executor: per job, submission until a worker starts it and the
// wall time around the job's own (a chain of jobs, so none waits for a free worker); and a tiny
// plan's wall time on 1, 2, 3 worker processes.
//   npm run build && node dist/bench/distributed.js [--workers 1,2,3] [--steps 30]
// Prints a markdown table. Needs redis-server (Debian: apt-get install redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { QueueExecutor } from '../src/plans/distributed/queue_executor';
import { LocalProcessExecutor, type Executor } from '../src/plans/executor';
import { nodeKinds } from '../src/plans/kinds';
import { parsePlan } from '../src/plans/plan';
import { parsePlanText } from '../src/plans/plan_source';
import { prepareData } from '../src/plans/run_plan_file';
import { runPlan } from '../src/plans/runner';
import { median } from '../src/util/stats';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

function planText(steps: number): string {
  return `name: tiny-distributed
data: {corpus: default, tokenizer: default, vocab_size: 8192, input_length: 32, eval_batches: 1, eval_batch_size: 8}
defaults: {batch_size: 8, lr: 0.01, warmup: 10, eval_every: ${steps}, checkpoint_every: ${steps}}
nodes:
${[1, 2, 3, 4].map((i) => `  s${i}: {train: {preset: tiny, steps: ${steps}, seed: ${i}}}`).join('\n')}
  f12: {fuse: {sources: [s1, s2]}}
  f34: {fuse: {sources: [s3, s4]}}
  g12: {train: {from: f12, steps: ${Math.ceil(steps / 3)}, seed: 5}}
  g34: {train: {from: f34, steps: ${Math.ceil(steps / 3)}, seed: 6}}
  scratch: {train: {preset: tiny, steps: ${2 * steps}, seed: 7}}
arms: {fusion: g12, fusion2: g34, scratch: scratch}
baseline: scratch
`;
}

/** Five jobs, each continuing the previous one's model: only one is ever ready, so no job waits for a free worker. */
function chainText(steps: number): string {
  return `name: chain-distributed
data: {corpus: default, tokenizer: default, vocab_size: 8192, input_length: 32, eval_batches: 1, eval_batch_size: 8}
defaults: {batch_size: 8, lr: 0.01, warmup: 10, eval_every: ${steps}, checkpoint_every: ${steps}}
nodes:
  c0: {train: {preset: tiny, steps: ${steps}, seed: 1}}
${[1, 2, 3, 4].map((i) => `  c${i}: {train: {from: c${i - 1}, steps: ${steps}, seed: ${i + 1}}}`).join('\n')}
arms: {chain: c4}
`;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until(what: string, probe: () => boolean, seconds = 60): Promise<void> {
  for (const end = Date.now() + seconds * 1000; !probe(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

function startWorker(queue: string, store: string, name: string): { child: ChildProcess; ready: Promise<void> } {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `df-bench-${name}-`));
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', queue, '--store', store, '--name', name, '--work-dir', workDir, '--threads', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  return { child, ready: until(`worker ${name}`, () => / slot /.test(log)) };
}

interface Timing { wall: number; queue: number[]; overhead: number[] }

async function runOnce(executor: Executor, text: string): Promise<Timing> {
  const plan = parsePlan(parsePlanText(text, 'bench.yaml'), nodeKinds);
  const submitted = new Map<string, number>();
  const overhead: number[] = [];
  const queue: number[] = [];
  const t0 = performance.now();
  const run = await runPlan(plan, {
    outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'df-bench-out-')), executor, cores: 1,
    events: {
      started: (j) => submitted.set(j.id, performance.now()),
      finished: (j, r) => {
        overhead.push((performance.now() - (submitted.get(j.id) as number)) / 1000 - r.seconds);
        if (r.queue_seconds !== undefined) queue.push(r.queue_seconds);
      },
    },
  });
  if (run.results.size !== plan.nodes.length) throw new Error('not every job ran');
  return { wall: (performance.now() - t0) / 1000, queue, overhead };
}

const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { workers: { type: 'string', default: '1,2,3' }, steps: { type: 'string', default: '30' } } });
  const counts = (values.workers as string).split(',').map(Number);
  const steps = Number(values.steps);
  process.env.DEEPFUSION_THREADS = '1';
  // Tokenizer and tokenized corpus into the cache first, as `deepfusion run` does: not part of any timing.
  await prepareData(parsePlan(parsePlanText(planText(steps), 'p.yaml'), nodeKinds), () => undefined);
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const queue = `redis://127.0.0.1:${port}`;
  const rows: string[] = [];
  const overheadRows: string[] = [];
  const withWorkers = async (n: number, fn: (executor: QueueExecutor) => Promise<void>): Promise<void> => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'df-bench-store-'));
    const workers = Array.from({ length: n }, (_, i) => startWorker(queue, store, `w${i + 1}`));
    await Promise.all(workers.map((w) => w.ready));
    const executor = await QueueExecutor.open({ queue, store });
    try {
      await fn(executor);
    } finally {
      await executor.close();
      for (const w of workers) w.child.kill('SIGINT');
      await Promise.all(workers.map((w) => new Promise((r) => w.child.once('exit', r))));
    }
  };
  try {
    // Overhead per job: a chain, so that every job finds its worker idle.
    const localChain = await runOnce(new LocalProcessExecutor({ capacity: 1 }), chainText(steps));
    overheadRows.push(`| local executor | ${f(localChain.wall)} | – | ${f(median(localChain.overhead))} |`);
    await withWorkers(1, async (executor) => {
      const t = await runOnce(executor, chainText(steps));
      overheadRows.push(`| 1 worker | ${f(t.wall)} | ${f(median(t.queue))} | ${f(median(t.overhead))} |`);
    });
    // Scaling: a plan with independent jobs.
    const local = await runOnce(new LocalProcessExecutor({ capacity: 2 }), planText(steps));
    rows.push(`| local executor, 2 jobs at once | ${f(local.wall)} |`);
    for (const n of counts) {
      await withWorkers(n, async (executor) => {
        const t = await runOnce(executor, planText(steps));
        rows.push(`| ${n} worker${n > 1 ? 's' : ''} | ${f(t.wall)} |`);
      });
    }
  } finally {
    redis.kill();
  }
  console.log(`${os.availableParallelism()} cores, 1 thread per job, tiny models, ${steps} steps a training job.\n`);
  console.log('Overhead per job: 5 jobs in a chain (each continues the previous one\'s model).\n');
  console.log('| executor | wall time (s) | submission → a worker starts it (s, median) | per job: wall time minus the job\'s own (s, median) |');
  console.log('| --- | --- | --- | --- |');
  for (const r of overheadRows) console.log(r);
  console.log(`\nScaling: 9 jobs (4 tiny models, 2 fusions, 2 continuations, 1 from scratch).\n`);
  console.log('| executor | wall time (s) |');
  console.log('| --- | --- |');
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
