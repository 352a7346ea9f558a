// Runs a plan's jobs: in dependency order, as many at once as the executor takes, each job's
// output cached under its content key so that a rerun (or an edited plan) only runs what
// changed, and an interrupted run resumes where it stopped.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic';
import { JobFailed, type Executor } from './executor';
import { expandPlan, type Expansion, type JobInstance } from './graph';
import type { JobEvent, JobResult, JobSpec, NodeKinds } from './job';
import type { Plan } from './plan';
import { PlanStatusWriter } from './status';

export const RESULT_FILE = 'result.json';
export const JOB_FILE = 'job.json';

export interface RunnerEvents {
  /** A job is cached (finished in an earlier run). */
  cached?(job: JobInstance, result: JobResult): void;
  started?(job: JobInstance, threads: number): void;
  progress?(job: JobInstance, e: JobEvent): void;
  finished?(job: JobInstance, result: JobResult): void;
  failed?(job: JobInstance, error: unknown): void;
}

export interface PlanRun {
  plan: Plan;
  expansion: Expansion;
  outDir: string;
  results: Map<string, JobResult>;
  dirs: Map<string, string>;
}

export interface RunOptions {
  outDir: string;
  executor: Executor;
  events?: RunnerEvents;
  /** Cores the jobs share; a job gets cores / (jobs running) threads when it starts. */
  cores?: number;
  /** The node kinds, for the jobs' labels in status.json. */
  kinds?: NodeKinds;
}

export function jobDir(outDir: string, job: JobInstance): string {
  return path.join(outDir, 'jobs', job.key);
}

export function readCachedResult(dir: string): JobResult | undefined {
  const file = path.join(dir, RESULT_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as JobResult) : undefined;
}

export async function runPlan(plan: Plan, opts: RunOptions): Promise<PlanRun> {
  const expansion = expandPlan(plan);
  const results = new Map<string, JobResult>();
  const dirs = new Map<string, string>();
  const keys = new Map(expansion.jobs.map((j) => [j.id, j.key]));
  const cores = opts.cores ?? os.availableParallelism();
  // status.json: the run's live state for watchers in other processes (the dashboard).
  const status = new PlanStatusWriter(opts.outDir, plan, expansion, { label: (j) => opts.kinds?.[j.kind]?.label(j.settings) ?? j.kind });
  const events = fanOut(status, opts.events ?? {});
  for (const job of expansion.jobs) {
    const dir = jobDir(opts.outDir, job);
    dirs.set(job.id, dir);
    const cached = readCachedResult(dir);
    if (cached) {
      results.set(job.id, cached);
      events.cached(job, cached);
    }
  }

  // Jobs that more jobs wait for start first: the critical path (small models → fusion → …)
  // should not queue behind a long independent job.
  const waiting = descendantCounts(expansion.jobs);
  // Jobs with the same key compute the same thing (e.g. a swept value equal to the node's own):
  // one of them runs, the others share its result.
  const twins = new Map<string, JobInstance[]>();
  for (const job of expansion.jobs) {
    if (!results.has(job.id)) twins.set(job.key, [...(twins.get(job.key) ?? []), job]);
  }
  const pending = [...twins.values()].map((same) => same[0])
    .sort((a, b) => (waiting.get(b.id) as number) - (waiting.get(a.id) as number));
  const running = new Map<string, Promise<void>>();
  let failure: unknown;

  const launch = (job: JobInstance, threads: number): void => {
    const dir = dirs.get(job.id) as string;
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, JOB_FILE), `${JSON.stringify({ id: job.id, node: job.node, kind: job.kind, settings: job.settings, inputs: job.inputs }, null, 2)}\n`);
    const spec: JobSpec = {
      id: job.id, kind: job.kind, key: job.key, dir, settings: job.settings, data: plan.data, threads,
      inputs: job.inputs.map((i) => ({ id: i, key: keys.get(i) as string, dir: dirs.get(i) as string, result: results.get(i) as JobResult })),
    };
    events.started(job, threads);
    const p = opts.executor.run(spec, (e) => events.progress(job, e)).then((result) => {
      // The result file is the job's "done" mark: written last, atomically, by the runner.
      writeFileAtomic(path.join(dir, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
      results.set(job.id, result);
      events.finished(job, result);
      for (const twin of (twins.get(job.key) ?? []).slice(1)) {
        results.set(twin.id, result);
        events.cached(twin, result);
      }
    }, (err: unknown) => {
      failure ??= err;
      events.failed(job, err);
    }).finally(() => running.delete(job.id));
    running.set(job.id, p);
  };

  while (pending.length > 0 || running.size > 0) {
    if (failure === undefined) {
      const ready = pending.filter((job) => job.inputs.every((input) => results.has(input)))
        .slice(0, Math.max(0, opts.executor.capacity - running.size));
      // The cores are shared by every job running once these start.
      const threads = Math.max(1, Math.floor(cores / (running.size + ready.length)));
      for (const job of ready) {
        pending.splice(pending.indexOf(job), 1);
        launch(job, threads);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  status.close(failure === undefined && pending.length === 0 ? 'finished' : 'failed');
  if (failure !== undefined) throw failure;
  if (pending.length > 0) throw new Error(`plan ${plan.name}: jobs ${pending.map((j) => j.id).join(', ')} could not start`);
  return { plan, expansion, outDir: opts.outDir, results, dirs };
}

/** Every event goes to the status first, then to the caller's sink. */
function fanOut(status: PlanStatusWriter, user: RunnerEvents): Required<RunnerEvents> {
  return {
    cached: (j, r) => { status.cached(j, r); user.cached?.(j, r); },
    started: (j, t) => { status.started(j, t); user.started?.(j, t); },
    progress: (j, e) => { status.progress(j, e); user.progress?.(j, e); },
    finished: (j, r) => { status.finished(j, r); user.finished?.(j, r); },
    failed: (j, e) => { status.failed(j, e); user.failed?.(j, e); },
  };
}

/** For each job, how many jobs (transitively) read its output. */
function descendantCounts(jobs: JobInstance[]): Map<string, number> {
  const readers = new Map<string, string[]>(jobs.map((j) => [j.id, []]));
  for (const j of jobs) for (const i of j.inputs) readers.get(i)?.push(j.id);
  const counts = new Map<string, number>();
  for (const j of jobs) {
    const seen = new Set<string>();
    const stack = [...(readers.get(j.id) ?? [])];
    while (stack.length > 0) {
      const r = stack.pop() as string;
      if (!seen.has(r)) {
        seen.add(r);
        stack.push(...(readers.get(r) ?? []));
      }
    }
    counts.set(j.id, seen.size);
  }
  return counts;
}

export { JobFailed };
