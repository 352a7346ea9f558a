// The distributed executor with real servers (redis-server, worker processes standing in for
// machines, a shared directory as the store) and the cheap fake node kinds of the runner tests:
// results, sharing, and the failure drills a cluster must survive.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { LocalProcessExecutor } from '../../../src/plans/executor';
import { parsePlan, type Plan } from '../../../src/plans/plan';
import { parsePlanText } from '../../../src/plans/plan_source';
import { runPlan, type PlanRun, type RunnerEvents } from '../../../src/plans/runner';
import { expandPlan } from '../../../src/plans/graph';
import { readDone, storeKeys } from '../../../src/plans/distributed/artifacts';
import { connect, QUEUE_NAME, QUEUE_PREFIX, queueJobId } from '../../../src/plans/distributed/queue';
import { QueueExecutor } from '../../../src/plans/distributed/queue_executor';
import { FsStore } from '../../../src/plans/distributed/store_fs';
import { temporaryDir } from '../../helpers/tmp';
import { nodeKinds } from '../fake_kinds';
import { startRedis, startWorker, type RedisServer, type WorkerProcess } from './servers';

const KINDS = path.join(__dirname, '..', 'fake_kinds.js');

/** A chain with a fusion-like join, twice (repeats); `seed` makes its job keys this test's own. */
const chain = (seed: number, steps = 6, ms = 5): string => `
name: chain
repeats: 2
nodes:
  a: {count: {steps: ${steps}, seed: ${seed}, ms: ${ms}}}
  b: {count: {steps: ${steps}, seed: ${seed + 1}, ms: ${ms}}}
  ab: {count: {steps: 3, seed: ${seed + 2}, from: [a, b]}}
  c: {count: {steps: 4, seed: ${seed + 3}, from: ab}}
arms:
  grown: c
`;
const plan = (text: string): Plan => parsePlan(parsePlanText(text, 'plan.yaml'), nodeKinds);
const values = (run: PlanRun) => Object.fromEntries([...run.results].map(([id, r]) => [id, r.facts.value]));
const local = (text: string) => runPlan(plan(text), { outDir: temporaryDir(), executor: new LocalProcessExecutor({ capacity: 2, kindsModule: KINDS }), cores: 2 });

describe('distributed executor (redis-server, worker processes, a shared directory)', () => {
  let redis: RedisServer;
  const store = temporaryDir();
  const runsLog = path.join(temporaryDir(), 'runs.log');
  const workers: WorkerProcess[] = [];
  const env = { DEEPFUSION_KINDS_MODULE: KINDS, FAKE_KINDS_LOG: runsLog };
  const addWorker = async (name: string) => {
    const w = await startWorker({ queue: redis.url, store, name, env });
    workers.push(w);
    return w;
  };
  /** How often each job key was started, by any worker. */
  const starts = (): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    for (const line of fs.readFileSync(runsLog, 'utf8').trim().split('\n')) {
      const [key, step] = line.split(' ');
      m.set(key, [...(m.get(key) ?? []), Number(step)]);
    }
    return m;
  };
  const queued = (events?: RunnerEvents, text = chain(1)) => QueueExecutor.open({ queue: redis.url, store }).then(async (executor) => {
    try {
      return await runPlan(plan(text), { outDir: temporaryDir(), executor, cores: 2, events });
    } finally {
      await executor.close();
    }
  });

  before(async () => {
    redis = await startRedis();
    await addWorker('m1');
    await addWorker('m2');
  });
  after(async () => {
    for (const w of workers) w.kill();
    await redis.stop();
  });

  test('runs a plan on two workers: the local executor\'s values, each job once, the worker named', async () => {
    const placed: string[] = [];
    const run = await queued({ progress: (j, e) => { if (e.type === 'placed') placed.push(`${j.id} ${e.machine}`); } }, chain(10));
    assert.deepEqual(values(run), values(await local(chain(10))));
    const jobs = run.expansion.jobs;
    for (const j of jobs) assert.deepEqual(starts().get(j.key), [0], j.id);
    assert.equal(placed.length, jobs.length);
    const names = new Set([...run.results.values()].map((r) => r.worker));
    assert.ok([...names].every((n) => n === 'm1' || n === 'm2'), [...names].join());
    assert.ok([...run.results.values()].every((r) => typeof r.queue_seconds === 'number' && r.queue_seconds >= 0));
    // The store holds each job's output and its done mark; the runner's directory has the log.
    for (const j of jobs) {
      const done = await readDone(FsStore.open(store), j.key);
      assert.ok(done?.output.files.some((f) => f.path === 'starts'));
      assert.ok(fs.existsSync(path.join(run.dirs.get(j.id) as string, 'log.txt')));
    }
  });

  test('two runners submitting the same plan share each execution and its result', async () => {
    const [one, two] = await Promise.all([queued(undefined, chain(20)), queued(undefined, chain(20))]);
    assert.deepEqual(values(one), values(two));
    for (const j of one.expansion.jobs) assert.deepEqual(starts().get(j.key), [0], `${j.id} ran once`);
  });

  test('a worker killed mid-job (the machine lost): another resumes it from its last checkpoint, same values', async () => {
    // Checkpoints are published every 2 s: the kill comes after the first.
    const text = chain(30, 100, 50);
    const moves: string[] = [];
    let killed: WorkerProcess | undefined;
    let killedAt = 0;
    let recovered = 0;
    const run = await queued({
      progress: (j, e) => {
        if (e.type === 'placed') {
          moves.push(`${j.id} ${e.machine}`);
          if (killed && j.id === 'a@0') recovered = performance.now();
        }
        if (!killed && j.id === 'a@0' && e.type === 'progress' && e.step >= 60) {
          const owner = moves.filter((m) => m.startsWith('a@0 ')).at(-1)?.split(' ')[1];
          killed = workers.find((w) => w.name === owner) as WorkerProcess;
          killedAt = performance.now();
          killed.kill();
        }
      },
    }, text);
    assert.ok(killed, 'a worker was killed');
    assert.deepEqual(values(run), values(await local(text)));
    const key = run.expansion.jobs.find((j) => j.id === 'a@0')?.key as string;
    const s = starts().get(key) as number[];
    assert.equal(s.length, 2, `a@0 started twice: ${JSON.stringify(s)}`);
    assert.ok(s[0] === 0 && s[1] >= 1 && s[1] <= 100, `the second start resumed mid-way: ${JSON.stringify(s)}`);
    assert.equal(run.results.get('a@0')?.worker === killed.name, false);
    console.error(`  recovery: a@0 moved to another worker ${((recovered - killedAt) / 1000).toFixed(1)} s after the kill, resuming at step ${s[1]}`);
    workers.splice(workers.indexOf(killed), 1);
    await addWorker('m3');
  });

  test('Ctrl-C on a worker: its running job goes back to the queue at once and resumes elsewhere', async () => {
    const text = chain(60, 100, 50);
    let stopped: WorkerProcess | undefined;
    const key = expandPlan(plan(text)).jobs.find((j) => j.id === 'a@0')?.key as string;
    const run = await queued({
      progress: (j, e) => {
        if (j.id !== 'a@0' || stopped || e.type !== 'progress' || e.step < 50) return;
        // The worker running it, by its log.
        stopped = workers.find((w) => w.lines.some((l) => l.includes(`started   a@0 (${key})`)));
        void stopped?.stop();
      },
    }, text);
    assert.ok(stopped);
    assert.deepEqual(values(run), values(await local(text)));
    assert.ok(stopped.lines.some((l) => /stopped +a@0: the worker is stopping/.test(l)), stopped.lines.join('\n'));
    const s = starts().get(run.expansion.jobs.find((j) => j.id === 'a@0')?.key as string) as number[];
    assert.ok(s.length === 2 && s[1] > 0, `a@0 resumed mid-way: ${JSON.stringify(s)}`);
    workers.splice(workers.indexOf(stopped), 1);
    await addWorker('m4');
  });

  test('a user error fails the job at once without retries; other failures are retried', async () => {
    const bad = QueueExecutor.open({ queue: redis.url, store });
    const executor = await bad;
    try {
      await assert.rejects(runPlan(plan('name: b\nnodes:\n  x: {bad: {}}\n'), { outDir: temporaryDir(), executor, cores: 2 }),
        (err: Error & { userError?: boolean }) => {
          assert.match(err.message, /^job x failed: bad\.yaml: field "x": deliberately bad\. Fix: none \(log: .*log\.txt\)$/);
          assert.equal(err.userError, true);
          return true;
        });
      await assert.rejects(runPlan(plan('name: f\nnodes:\n  y: {fail: {}}\n'), { outDir: temporaryDir(), executor, cores: 2 }),
        (err: Error & { userError?: boolean }) => /^job y failed: .*deliberate failure/.test(err.message) && err.userError === false);
    } finally {
      await executor.close();
    }
    const connection = connect(redis.url);
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const attempts = async (text: string) => (await queue.getJob(queueJobId(expandPlan(plan(text)).jobs[0].key)))?.attemptsMade;
    assert.equal(await attempts('name: b\nnodes:\n  x: {bad: {}}\n'), 1);
    assert.equal(await attempts('name: f\nnodes:\n  y: {fail: {}}\n'), 3);
    await queue.close();
    connection.disconnect();
  });

  test('Redis restarting (without persistence) mid-plan: workers reconnect, the lost job is resubmitted and resumes', async () => {
    const text = chain(40, 60, 50);
    let restarted = false;
    const run = await queued({
      progress: (j, e) => {
        if (!restarted && j.id === 'a@0' && e.type === 'progress' && e.step >= 15) {
          restarted = true;
          void redis.restart();
        }
      },
    }, text);
    assert.ok(restarted);
    assert.deepEqual(values(run), values(await local(text)));
  });

  test('cancelling (Ctrl-C on the runner) stops the running jobs; the next run resumes them', async () => {
    const text = chain(50, 200, 50);
    const executor = await QueueExecutor.open({ queue: redis.url, store });
    const outDir = temporaryDir();
    let cancelled = false;
    const running = runPlan(plan(text), {
      outDir, executor, cores: 2,
      events: {
        progress: (_j, e) => {
          if (!cancelled && e.type === 'progress' && e.step >= 10) {
            cancelled = true;
            void executor.cancelAll();
          }
        },
      },
    });
    await assert.rejects(running, /cancelled/);
    await executor.close();
    const keys = expandPlan(plan(text)).jobs.filter((j) => j.node === 'a' || j.node === 'b');
    // Stopped: the workers' processors end once their job processes are killed.
    const connection = connect(redis.url);
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    for (let i = 0; i < 200 && (await queue.getActiveCount()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await queue.getActiveCount(), 0);
    assert.ok(workers.some((w) => w.lines.some((l) => /stopped +a@0: cancelled by a runner/.test(l))));
    await queue.close();
    connection.disconnect();
    const checkpoints = await Promise.all(keys.map((j) => FsStore.open(store).readText(storeKeys.checkpoint(j.key))));
    assert.ok(checkpoints.some((c) => c !== undefined), 'a stopped job left its checkpoint in the store');
    const resumed = await queued(undefined, text);
    assert.deepEqual(values(resumed), values(await local(text)));
    assert.ok(keys.some((j) => (starts().get(j.key) ?? []).some((s) => s > 0)), 'a cancelled job resumed mid-way');
  });
});
