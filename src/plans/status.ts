// The live state of a plan run, in <out>/status.json, for watchers in other processes (the
// dashboard, docs/dashboard.md): the plan's jobs and arms, and each job's state, step, loss,
// tokens/s, ETA and machine. The runner keeps it in memory and writes it atomically: at most
// once per `minInterval` while jobs progress, and at every heartbeat, so that a watcher can tell
// a live runner from one that was killed (its file stops changing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic';
import type { ArmInstance, Expansion, JobInstance } from './graph';
import type { JobEvent, JobResult } from './job';
import type { Plan } from './plan';

export const STATUS_FILE = 'status.json';
export const STATUS_VERSION = 1;

export type JobState = 'pending' | 'running' | 'done' | 'cached' | 'failed';
export type PlanState = 'running' | 'finished' | 'failed';

export interface JobStatus {
  id: string;
  /** The job's directory is jobs/<key>. */
  key: string;
  node: string;
  kind: string;
  /** Short description, e.g. "train s · 400 steps". */
  label: string;
  inputs: string[];
  repeat: number;
  state: JobState;
  /** Where the job runs (or ran): the host name of the machine. */
  machine?: string;
  threads?: number;
  step?: number;
  total?: number;
  /** Training loss of the latest step. */
  loss?: number;
  tokens_per_s?: number;
  /** Seconds to the last step at the rate since the job (re)started here. */
  eta_s?: number;
  started_at?: string;
  finished_at?: string;
  /** Wall time of a finished job (its result's). */
  seconds?: number;
  error?: string;
}

export interface PlanStatus {
  version: number;
  plan: { name: string; description: string; file: string; repeats: number; baseline?: string };
  state: PlanState;
  /** The runner's process and machine. */
  pid: number;
  host: string;
  started_at: string;
  updated_at: string;
  /** Seconds between writes while nothing changes: a file older than a few of these belongs to a dead runner. */
  heartbeat_s: number;
  jobs: JobStatus[];
  arms: ArmInstance[];
}

export interface StatusOptions {
  /** Label of a job (its kind's `label`); default the kind's name. */
  label?: (job: JobInstance) => string;
  /** Least time between two writes caused by progress, in ms (default 1000). */
  minInterval?: number;
  /** Time between writes when nothing changes, in ms (default 10 s). */
  heartbeat?: number;
}

/** Keeps a plan run's status and writes it to <outDir>/status.json; a RunnerEvents sink. */
export class PlanStatusWriter {
  readonly file: string;
  private readonly status: PlanStatus;
  private readonly byId: Map<string, JobStatus>;
  private readonly rate = new Map<string, { step: number; t: number }>();
  private readonly minInterval: number;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly beat: NodeJS.Timeout;
  private closed = false;

  constructor(outDir: string, plan: Plan, expansion: Expansion, opts: StatusOptions = {}) {
    this.file = path.join(outDir, STATUS_FILE);
    this.minInterval = opts.minInterval ?? 1000;
    const heartbeat = opts.heartbeat ?? 10_000;
    const now = new Date().toISOString();
    this.status = {
      version: STATUS_VERSION,
      plan: { name: plan.name, description: plan.description, file: plan.file, repeats: plan.repeats, baseline: plan.baseline },
      state: 'running', pid: process.pid, host: os.hostname(), started_at: now, updated_at: now, heartbeat_s: heartbeat / 1000,
      jobs: expansion.jobs.map((j) => ({
        id: j.id, key: j.key, node: j.node, kind: j.kind, label: opts.label?.(j) ?? j.kind, inputs: j.inputs, repeat: j.repeat, state: 'pending',
      })),
      arms: expansion.arms,
    };
    this.byId = new Map(this.status.jobs.map((j) => [j.id, j]));
    this.write();
    this.beat = setInterval(() => this.write(), heartbeat).unref();
  }

  /** A copy of the status as it stands. */
  snapshot(): PlanStatus {
    return structuredClone(this.status);
  }

  cached(job: JobInstance, result: JobResult): void {
    this.update(job, { state: 'cached', step: result.steps, total: result.steps, seconds: result.seconds, eta_s: 0 });
  }

  started(job: JobInstance, threads: number): void {
    this.rate.delete(job.id);
    this.update(job, { state: 'running', threads, machine: os.hostname(), started_at: new Date().toISOString() }, true);
  }

  progress(job: JobInstance, e: JobEvent): void {
    if (e.type === 'placed') {
      this.update(job, { machine: e.machine }, true);
      return;
    }
    if (e.type !== 'progress') return;
    const t = performance.now() / 1000;
    const first = this.rate.get(job.id) ?? { step: e.step, t };
    this.rate.set(job.id, first);
    const perSecond = e.step > first.step && t > first.t ? (e.step - first.step) / (t - first.t) : 0;
    this.update(job, {
      step: e.step, total: e.total, loss: e.loss, tokens_per_s: e.tokensPerSecond,
      eta_s: perSecond > 0 ? Math.max(0, (e.total - e.step) / perSecond) : undefined,
    });
  }

  finished(job: JobInstance, result: JobResult): void {
    this.update(job, { state: 'done', step: result.steps, seconds: result.seconds, eta_s: 0, finished_at: new Date().toISOString() }, true);
  }

  failed(job: JobInstance, error: unknown): void {
    this.update(job, { state: 'failed', eta_s: undefined, finished_at: new Date().toISOString(), error: (error as Error)?.message ?? String(error) }, true);
  }

  /** Writes the final state; later events change nothing on disk. */
  close(state: PlanState): void {
    if (this.closed) return;
    this.status.state = state;
    this.write();
    this.closed = true;
    clearInterval(this.beat);
    if (this.timer) clearTimeout(this.timer);
  }

  private update(job: JobInstance, fields: Partial<JobStatus>, now = false): void {
    const j = this.byId.get(job.id);
    if (!j || this.closed) return;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) delete (j as unknown as Record<string, unknown>)[k];
      else (j as unknown as Record<string, unknown>)[k] = v;
    }
    this.schedule(now);
  }

  /** State changes are written at once; progress at most once per minInterval. */
  private schedule(now: boolean): void {
    const wait = now ? 0 : Math.max(0, this.lastWrite + this.minInterval - Date.now());
    if (wait === 0) {
      this.write();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, wait).unref();
  }

  private write(): void {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastWrite = Date.now();
    this.status.updated_at = new Date(this.lastWrite).toISOString();
    try {
      writeFileAtomic(this.file, `${JSON.stringify(this.status, null, 1)}\n`);
    } catch (err) {
      // The status is for watchers; a full disk or a removed directory must not stop the plan.
      process.emitWarning(`could not write ${this.file}: ${(err as Error).message}`);
    }
  }
}

/** The status file of a plan output directory, or undefined if it is absent or unreadable. */
export function readPlanStatus(outDir: string): PlanStatus | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(outDir, STATUS_FILE), 'utf8')) as PlanStatus;
    return s && s.version === STATUS_VERSION && Array.isArray(s.jobs) ? s : undefined;
  } catch {
    return undefined;
  }
}
