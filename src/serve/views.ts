// What one page of the dashboard watches, as a stream of named events: a snapshot when it opens,
// then only what changed, found by polling cheap things (a stat, the bytes appended to a file).
// A view keeps offsets and the few numbers it recomputes from (a plan's evaluations), never a
// growing copy of the files, so a server's memory stays flat however long a run streams.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphFigure, type GraphLink, type GraphNode } from '../report/graph_figure';
import { summarizeArms, type CurvePoint } from '../plans/arm_results';
import { JOB_LOG } from '../plans/executor';
import type { ArmInstance, JobInstance } from '../plans/graph';
import type { EvalPoint, JobResult } from '../plans/job';
import { REPORT_FILE, RESULTS_FILE } from '../plans/report';
import { JOB_FILE, RESULT_FILE } from '../plans/runner';
import { STATUS_FILE, type JobStatus, type PlanStatus } from '../plans/status';
import { FINAL_DIR } from '../training/run_dir';
import { METRICS_FILE } from '../training/metrics';
import { metricsColumns, parseRecord } from './metrics';
import type { RunsRoot } from './paths';
import { isPlanDir, livePlanState, listRuns, modelInfo, runInfo, runState, type EntryState } from './runs';
import { LineTail } from './tail';

export interface ViewEvent { event: string; data: unknown }

export interface View {
  /** Everything the page needs to draw itself. */
  snapshot(): ViewEvent[];
  /** What changed since the last snapshot or poll. */
  poll(): ViewEvent[];
}

/** A log's last part is shown, not the whole of a long one. */
const LOG_TAIL_BYTES = 256 << 10;
/** The fields of each job's training records a plan's overview draws. */
const PLAN_FIELDS = { train: ['step', 'loss', 'elapsed', 'tokens_per_s'] };

const mtimeOf = (file: string): number => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

/** Calls `f` only every `every`-th time: for checks cheaper to do less often than the tails. */
function everyNth(every: number): () => boolean {
  let n = 0;
  return () => n++ % every === 0;
}

/** The list of plans and runs: sent again whenever it changes. */
export class ListView implements View {
  private last = '';
  private readonly due = everyNth(4);

  constructor(private readonly root: RunsRoot) {}

  snapshot(): ViewEvent[] {
    const list = listRuns(this.root);
    this.last = JSON.stringify(list);
    return [{ event: 'list', data: list }];
  }

  poll(): ViewEvent[] {
    if (!this.due()) return [];
    const list = listRuns(this.root);
    const text = JSON.stringify(list);
    if (text === this.last) return [];
    this.last = text;
    return [{ event: 'list', data: list }];
  }
}

/** Appended metrics lines as columns; `reset` when the file started over. */
function metricsEvent(tail: LineTail): ViewEvent | undefined {
  const { lines, reset } = tail.read();
  if (lines.length === 0 && !reset) return undefined;
  return { event: 'metrics', data: { reset, ...metricsColumns(lines) } };
}

/** Reads a tail to its end (a snapshot), chunk by chunk. */
function readAll(tail: LineTail): string[] {
  const out: string[] = [];
  for (;;) {
    const { lines } = tail.read();
    if (lines.length === 0) return out;
    for (const l of lines) out.push(l);
  }
}

/**
 * One training run, or one job of a plan (its run, log, settings, result and model): live
 * metrics, log lines and state.
 */
export class RunView implements View {
  private readonly metrics: LineTail;
  private readonly log: LineTail | undefined;
  private readonly job: { dir: string; planDir: string } | undefined;
  private readonly runDir: string;
  private lastHead = '';
  private readonly due = everyNth(4);

  constructor(private readonly root: RunsRoot, private readonly dir: string) {
    // A plan's job: jobs/<key>/ with job.json; its training run (if any) is jobs/<key>/run/.
    const isJob = fs.existsSync(path.join(dir, JOB_FILE)) && isPlanDir(path.dirname(path.dirname(dir)));
    this.job = isJob ? { dir, planDir: path.dirname(path.dirname(dir)) } : undefined;
    this.runDir = isJob ? path.join(dir, 'run') : dir;
    this.metrics = new LineTail(root, path.join(this.runDir, METRICS_FILE));
    if (this.job) {
      this.log = new LineTail(root, path.join(dir, JOB_LOG));
      this.log.skipToTail(LOG_TAIL_BYTES);
    }
  }

  snapshot(): ViewEvent[] {
    const head = this.head();
    this.lastHead = JSON.stringify(head);
    const events: ViewEvent[] = [
      { event: 'run', data: head },
      { event: 'metrics', data: { reset: true, ...metricsColumns(readAll(this.metrics)) } },
    ];
    if (this.log) events.push({ event: 'log', data: { reset: true, text: readAll(this.log).join('\n') } });
    return events;
  }

  poll(): ViewEvent[] {
    const events: ViewEvent[] = [];
    const m = metricsEvent(this.metrics);
    if (m) events.push(m);
    if (this.log) {
      const { lines, reset } = this.log.read();
      if (lines.length > 0 || reset) events.push({ event: 'log', data: { reset, text: lines.join('\n') } });
    }
    if (this.due()) {
      const head = this.head();
      const text = JSON.stringify(head);
      if (text !== this.lastHead) {
        this.lastHead = text;
        events.push({ event: 'run', data: head });
      }
    }
    return events;
  }

  /** Everything but the metrics and the log: what the run is and where it stands. */
  private head(): Record<string, unknown> {
    const root = this.root;
    const hasRun = fs.existsSync(this.runDir);
    const info = hasRun ? runInfo(root, this.runDir) : {};
    const base = { path: root.relative(this.dir), name: root.relative(this.dir) || path.basename(this.dir), ...info };
    if (!this.job) {
      const finalDir = path.join(this.runDir, FINAL_DIR);
      return { ...base, kind: 'run', state: runState(root, this.runDir), model: fs.existsSync(finalDir) ? root.relative(finalDir) : undefined };
    }
    const spec = root.readJson<{ id?: string; kind?: string }>(root.child(this.dir, JOB_FILE));
    const result = root.readJson<JobResult>(root.child(this.dir, RESULT_FILE));
    const status = root.readJson<PlanStatus>(root.child(this.job.planDir, STATUS_FILE));
    const key = path.basename(this.dir);
    const entry = status?.jobs?.find((j) => j.key === key && (spec?.id === undefined || j.id === spec.id)) ?? status?.jobs?.find((j) => j.key === key);
    const modelDir = result?.model ? root.resolve(path.join(root.relative(this.dir), result.model)) : undefined;
    const live = status ? livePlanState(status) : undefined;
    // A job marked running by a runner that is gone is not running any more.
    const state = result ? 'done' : entry?.state === 'running' && live !== 'running' ? 'stopped' : entry?.state ?? 'pending';
    return {
      ...base, kind: 'job', plan: root.relative(this.job.planDir), plan_name: status?.plan.name ?? path.basename(this.job.planDir),
      job: spec, status: entry, result, state, model: modelDir ? root.relative(modelDir) : undefined,
      flops_per_step: info.flops_per_step ?? (typeof result?.facts?.flops_per_step === 'number' ? result.facts.flops_per_step : undefined),
    };
  }
}

interface JobTrack {
  status: JobStatus;
  tail: LineTail;
  evals: EvalPoint[];
  last: { step: number; elapsed: number };
  result: JobResult | undefined;
  flopsPerStep: number | undefined;
}

export interface ArmCurve { name: string; repeats: number; flops: number[]; seconds: number[]; loss: number[]; accuracy: number[] }

/**
 * One point per evaluation, the mean over the repeats that have reached it: while repeats run,
 * their curves have different lengths (a finished plan's repeats share their evaluation steps,
 * and this is then the report's mean curve).
 */
export function meanOfAvailable(curves: CurvePoint[][]): Omit<ArmCurve, 'name'> {
  const n = Math.max(0, ...curves.map((c) => c.length));
  const out = { repeats: curves.length, flops: [] as number[], seconds: [] as number[], loss: [] as number[], accuracy: [] as number[] };
  for (let i = 0; i < n; i++) {
    const pts = curves.filter((c) => i < c.length).map((c) => c[i]);
    const avg = (f: (p: CurvePoint) => number) => pts.reduce((s, p) => s + f(p), 0) / pts.length;
    out.flops.push(avg((p) => p.flops));
    out.seconds.push(avg((p) => p.seconds));
    out.loss.push(avg((p) => p.loss));
    out.accuracy.push(avg((p) => p.accuracy));
  }
  return out;
}

/** The state colours of the live graph. */
const STATE_FILL: Record<string, string> = {
  pending: '#f1f1f1', running: '#cfe1f6', done: '#d8efd8', cached: '#e6f4e6', failed: '#f6cccc', stopped: '#f3e3c4',
};

/**
 * A plan: its status (jobs, states, progress), every training job's curve, and the arms' curves
 * (the report's Figure 1, recomputed as evaluations arrive).
 */
export class PlanView implements View {
  private status: PlanStatus | undefined;
  private statusTime = -1;
  private reportTime = -1;
  private readonly tracks = new Map<string, JobTrack>();
  private lastArms = '';
  private readonly due = everyNth(2);

  constructor(private readonly root: RunsRoot, private readonly dir: string) {}

  snapshot(): ViewEvent[] {
    this.refreshStatus();
    const events: ViewEvent[] = [{ event: 'plan', data: this.head() }];
    for (const t of this.tracks.values()) {
      const lines = readAll(t.tail);
      if (lines.length === 0) continue;
      const cols = metricsColumns(lines, PLAN_FIELDS);
      this.remember(t, cols);
      events.push({ event: 'metrics', data: { job: t.status.id, reset: true, ...cols } });
    }
    const arms = this.arms();
    this.lastArms = JSON.stringify(arms);
    events.push({ event: 'arms', data: arms });
    return events;
  }

  poll(): ViewEvent[] {
    const events: ViewEvent[] = [];
    let changed = false;
    if (this.due() && (this.refreshStatus() || this.reportChanged())) {
      events.push({ event: 'plan', data: this.head() });
      changed = true;
    }
    for (const t of this.tracks.values()) {
      const { lines, reset } = t.tail.read();
      if (lines.length === 0 && !reset) continue;
      if (reset) t.evals = [];
      const cols = metricsColumns(lines, PLAN_FIELDS);
      if (this.remember(t, cols)) changed = true;
      events.push({ event: 'metrics', data: { job: t.status.id, reset, ...cols } });
    }
    if (changed) {
      const arms = this.arms();
      const text = JSON.stringify(arms);
      if (text !== this.lastArms) {
        this.lastArms = text;
        events.push({ event: 'arms', data: arms });
      }
    }
    return events;
  }

  /** The plan's graph, boxes coloured by each job's state. */
  graph(): string {
    this.refreshStatus();
    const jobs = this.status?.jobs ?? [];
    const state = this.liveState();
    const nodes: GraphNode[] = jobs.map((j) => {
      const s = j.state === 'running' && state !== 'running' ? 'stopped' : j.state;
      const progress = s === 'running' && j.total ? ` ${j.step ?? 0}/${j.total}` : '';
      return { id: j.id, title: j.id, detail: `${j.label} · ${s}${progress}`, fill: STATE_FILL[s] };
    });
    const links: GraphLink[] = jobs.flatMap((j) => j.inputs.map((i): GraphLink => ({
      from: i, to: j.id, kind: j.kind === 'fuse' ? 'fuse' : j.kind === 'selfFuse' ? 'self-fuse' : j.kind === 'train' ? 'continue' : 'read',
    })));
    if (nodes.length === 0) return graphFigure([{ id: 'none', title: 'no jobs yet', detail: '' }], []);
    return graphFigure(nodes, links, `${this.status?.plan.name ?? path.basename(this.dir)}: jobs by state`);
  }

  private liveState(): EntryState {
    if (this.status) return livePlanState(this.status);
    return fs.existsSync(path.join(this.dir, RESULTS_FILE)) ? 'finished' : 'incomplete';
  }

  private head(): Record<string, unknown> {
    const root = this.root;
    const report = fs.existsSync(path.join(this.dir, REPORT_FILE));
    const figures = report ? fs.readdirSync(this.dir).filter((f) => f.endsWith('.svg')).sort() : [];
    return {
      path: root.relative(this.dir), name: this.status?.plan.name ?? path.basename(this.dir), state: this.liveState(),
      status: this.status, report: report ? root.relative(path.join(this.dir, REPORT_FILE)) : undefined,
      report_mtime: report ? mtimeOf(path.join(this.dir, REPORT_FILE)) : undefined, figures,
      jobs: [...this.tracks.values()].map((t) => ({
        id: t.status.id, dir: root.relative(path.join(this.dir, 'jobs', t.status.key)), flops_per_step: t.flopsPerStep,
        final_loss: t.result?.evals.at(-1)?.val_loss, final_accuracy: t.result?.evals.at(-1)?.val_accuracy,
      })),
    };
  }

  private reportChanged(): boolean {
    const t = mtimeOf(path.join(this.dir, REPORT_FILE));
    if (t === this.reportTime) return false;
    this.reportTime = t;
    return true;
  }

  /** Re-reads status.json if it changed (or the jobs from job.json files, for a plan without one); true if it did. */
  private refreshStatus(): boolean {
    const t = mtimeOf(path.join(this.dir, STATUS_FILE));
    if (t === this.statusTime && this.status) return false;
    this.statusTime = t;
    const status = this.root.readJson<PlanStatus>(this.root.child(this.dir, STATUS_FILE)) ?? this.statusFromJobs();
    if (!status) return false;
    this.status = status;
    for (const j of status.jobs) {
      const jobDir = path.join(this.dir, 'jobs', j.key);
      let t = this.tracks.get(j.id);
      if (!t) {
        t = {
          status: j, evals: [], last: { step: 0, elapsed: 0 }, result: undefined, flopsPerStep: undefined,
          // Any job that trains has a run directory (train jobs; other kinds may too).
          tail: new LineTail(this.root, path.join(jobDir, 'run', METRICS_FILE)),
        };
        this.tracks.set(j.id, t);
      }
      t.status = j;
      if (!t.result && (j.state === 'done' || j.state === 'cached')) {
        t.result = this.root.readJson<JobResult>(this.root.child(jobDir, RESULT_FILE));
        const fps = t.result?.facts?.flops_per_step;
        if (typeof fps === 'number') t.flopsPerStep = fps;
      }
      if (t.flopsPerStep === undefined && j.state !== 'pending') {
        t.flopsPerStep = runInfo(this.root, path.join(jobDir, 'run')).flops_per_step;
      }
    }
    return true;
  }

  /** A plan run before status files existed: its jobs from jobs/<key>/job.json and result.json. */
  private statusFromJobs(): PlanStatus | undefined {
    const jobsDir = this.root.child(this.dir, 'jobs');
    if (!jobsDir) return undefined;
    const jobs: JobStatus[] = [];
    for (const key of fs.readdirSync(jobsDir).sort()) {
      const spec = this.root.readJson<{ id: string; node: string; kind: string; inputs: string[] }>(this.root.child(jobsDir, key, JOB_FILE));
      if (!spec || typeof spec.id !== 'string') continue;
      const result = fs.existsSync(path.join(jobsDir, key, RESULT_FILE));
      jobs.push({
        id: spec.id, key, node: spec.node, kind: spec.kind, label: spec.kind, inputs: Array.isArray(spec.inputs) ? spec.inputs : [],
        repeat: Number(/@(\d+)$/.exec(spec.id)?.[1] ?? 0), state: result ? 'done' : 'pending',
      });
    }
    const results = this.root.readJson<{ plan?: string }>(this.root.child(this.dir, RESULTS_FILE));
    const now = new Date(mtimeOf(jobsDir)).toISOString();
    return {
      version: 1, plan: { name: results?.plan ?? path.basename(this.dir), description: '', file: '', repeats: 1 },
      state: results ? 'finished' : 'failed', pid: 0, host: '', started_at: now, updated_at: now, heartbeat_s: 0, jobs, arms: [],
    };
  }

  /** Keeps a job's evaluations and last step from new columns; true if an evaluation arrived. */
  private remember(t: JobTrack, cols: ReturnType<typeof metricsColumns>): boolean {
    const train = cols.types.train;
    if (train?.step?.length) {
      const i = train.step.length - 1;
      t.last = { step: train.step[i] ?? t.last.step, elapsed: train.elapsed?.[i] ?? t.last.elapsed };
    }
    const ev = cols.types.eval;
    if (!ev?.step?.length) return false;
    for (let i = 0; i < ev.step.length; i++) {
      const step = ev.step[i] ?? 0;
      t.evals.push({
        step, tokens: ev.tokens?.[i] ?? 0, flops: step * (t.flopsPerStep ?? NaN), seconds: ev.elapsed?.[i] ?? 0,
        val_loss: ev.val_loss?.[i] ?? NaN, val_accuracy: ev.val_accuracy?.[i] ?? NaN,
      });
    }
    return true;
  }

  /** Each arm's mean curve: finished jobs by their results, running ones by their metrics so far. */
  private arms(): { baseline?: string; arms: ArmCurve[] } {
    const status = this.status;
    if (!status || status.arms.length === 0) return this.armsFromResults();
    const results = new Map<string, JobResult>();
    for (const t of this.tracks.values()) {
      const fps = t.flopsPerStep ?? NaN;
      results.set(t.status.id, t.result ?? {
        kind: t.status.kind, flops: t.last.step * fps, seconds: t.last.elapsed, steps: t.last.step, peak_rss_mb: 0, facts: {},
        evals: t.evals.map((e) => ({ ...e, flops: e.step * fps })),
      });
    }
    const jobs = status.jobs.map((j) => ({ ...j, settings: undefined }) as JobInstance);
    const arms = summarizeArms(status.arms as ArmInstance[], jobs, results);
    return { baseline: status.plan.baseline, arms: arms.map((a) => ({ name: a.name, ...meanOfAvailable(a.curves) })) };
  }

  private armsFromResults(): { baseline?: string; arms: ArmCurve[] } {
    const results = this.root.readJson<{ arms?: Array<{ name: string; curves: CurvePoint[][] }> }>(this.root.child(this.dir, RESULTS_FILE));
    return { arms: (results?.arms ?? []).map((a) => ({ name: a.name, ...meanOfAvailable(a.curves) })) };
  }
}

/** A stream's view of a path: a plan, a job of a plan, or a run; undefined for anything else. */
export function viewOf(root: RunsRoot, kind: string, dir: string): View | undefined {
  if (kind === 'list') return new ListView(root);
  if (kind === 'plan' && isPlanDir(dir)) return new PlanView(root, dir);
  if (kind === 'run') return new RunView(root, dir);
  return undefined;
}

/** The files a page may fetch from the runs directory (reports, figures, logs, metrics, settings). */
export const SERVED_EXTENSIONS = new Set(['.svg', '.png', '.md', '.json', '.jsonl', '.txt']);

export { modelInfo, parseRecord };
