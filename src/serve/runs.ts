// What lies in a runs directory, as the dashboard lists it: plans (an output directory of
// `deepfusion run`: status.json, jobs/, results.json) and runs (a directory with metrics.jsonl:
// `deepfusion pretrain` and any other training run). Everything here only reads, through
// RunsRoot, so nothing outside the root is ever opened.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spanCorruptionLengths } from '../data/span_corruption';
import { CONFIG_FILE, WEIGHTS_FILE } from '../io/checkpoint';
import { parseConfig, type T5Config } from '../model/config';
import { t5TrainingStepFlops } from '../model/flops';
import { countByPart } from '../model/summary';
import { REPORT_FILE, RESULTS_FILE } from '../plans/report';
import { STATUS_FILE, type PlanStatus } from '../plans/status';
import { CHECKPOINTS_DIR, FINAL_DIR, LOCK_FILE, RUN_FILE } from '../training/run_dir';
import { METRICS_FILE } from '../training/metrics';
import type { RunsRoot } from './paths';
import { parseRecord } from './metrics';

export type EntryState = 'running' | 'finished' | 'failed' | 'stopped' | 'incomplete';

export interface ListEntry {
  /** '/'-separated, relative to the root ('' for the root itself). */
  path: string;
  name: string;
  type: 'plan' | 'run';
  state: EntryState;
  /** Last change, ms since the epoch. */
  updated: number;
  /** Plans: jobs by state. */
  jobs?: { total: number; done: number; running: number; failed: number };
  /** Runs: the last step and losses in metrics.jsonl. */
  step?: number;
  loss?: number;
  val_loss?: number;
}

const JOBS_DIR = 'jobs';
/** How deep below the root plans and runs are looked for (runs/<group>/<name>/ is depth 2). */
const MAX_DEPTH = 3;
/** Directories that never hold a plan or run of their own. */
const SKIP = new Set([CHECKPOINTS_DIR, FINAL_DIR, 'model', 'node_modules']);

const mtime = (file: string): number => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

export function isPlanDir(dir: string): boolean {
  return [STATUS_FILE, RESULTS_FILE].some((f) => fs.existsSync(path.join(dir, f))) || fs.existsSync(path.join(dir, JOBS_DIR));
}

export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, METRICS_FILE)) || fs.existsSync(path.join(dir, RUN_FILE));
}

/** Plans and runs under the root, newest first. Symlinked directories are not followed. */
export function listRuns(root: RunsRoot): ListEntry[] {
  const found: ListEntry[] = [];
  const visit = (dir: string, depth: number): void => {
    if (isPlanDir(dir)) {
      found.push(planEntry(root, dir));
      return;
    }
    if (isRunDir(dir)) {
      found.push(runEntry(root, dir));
      return;
    }
    if (depth >= MAX_DEPTH) return;
    let children: fs.Dirent[];
    try {
      children = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const c of children) {
      if (c.isDirectory() && !c.name.startsWith('.') && !SKIP.has(c.name)) visit(path.join(dir, c.name), depth + 1);
    }
  };
  visit(root.real, 0);
  return found.sort((a, b) => b.updated - a.updated || a.path.localeCompare(b.path));
}

function entryName(root: RunsRoot, dir: string): string {
  return root.relative(dir) || path.basename(dir);
}

/** Whether the process that wrote a status or lock is gone (only decidable on its own machine). */
function processGone(pid: number, host: string | undefined): boolean {
  if (host !== undefined && host !== os.hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The plan's state as a watcher sees it: a "running" status whose runner is gone (killed, or
 * Ctrl-C) — its pid is dead, or on another machine its heartbeat is long overdue — is "stopped".
 */
export function livePlanState(status: PlanStatus, now = Date.now()): EntryState {
  if (status.state !== 'running') return status.state;
  const overdue = now - Date.parse(status.updated_at) > 3 * status.heartbeat_s * 1000 + 5000;
  if (processGone(status.pid, status.host) || (status.host !== os.hostname() && overdue)) return 'stopped';
  return 'running';
}

function planEntry(root: RunsRoot, dir: string): ListEntry {
  const status = root.readJson<PlanStatus>(root.child(dir, STATUS_FILE));
  const name = status?.plan?.name ?? path.basename(dir);
  const updated = Math.max(mtime(path.join(dir, STATUS_FILE)), mtime(path.join(dir, RESULTS_FILE)), mtime(path.join(dir, REPORT_FILE)));
  if (status && Array.isArray(status.jobs)) {
    const count = (f: (s: string) => boolean) => status.jobs.filter((j) => f(j.state)).length;
    return {
      path: root.relative(dir), name, type: 'plan', state: livePlanState(status), updated,
      jobs: { total: status.jobs.length, done: count((s) => s === 'done' || s === 'cached'), running: count((s) => s === 'running'), failed: count((s) => s === 'failed') },
    };
  }
  // A plan from before status files: finished if it has its results.
  const finished = fs.existsSync(path.join(dir, RESULTS_FILE));
  return { path: root.relative(dir), name, type: 'plan', state: finished ? 'finished' : 'incomplete', updated };
}

/** A run is running while a live process holds its lock; finished once it has its final model. */
export function runState(root: RunsRoot, dir: string): EntryState {
  const lock = root.readText(root.child(dir, LOCK_FILE));
  const pid = Number(lock);
  if (lock !== undefined && Number.isInteger(pid) && pid > 0 && !processGone(pid, undefined)) return 'running';
  return fs.existsSync(path.join(dir, FINAL_DIR)) ? 'finished' : 'stopped';
}

function runEntry(root: RunsRoot, dir: string): ListEntry {
  const file = path.join(dir, METRICS_FILE);
  const last = lastRecords(root, file);
  return {
    path: root.relative(dir), name: entryName(root, dir), type: 'run', state: runState(root, dir),
    updated: Math.max(mtime(file), mtime(path.join(dir, RUN_FILE))),
    step: num(last.train?.step ?? last.eval?.step), loss: num(last.train?.loss), val_loss: num(last.eval?.val_loss),
  };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The last train and eval records of a metrics file, from its last few KB only. */
export function lastRecords(root: RunsRoot, file: string, bytes = 16 << 10): { train?: Record<string, unknown>; eval?: Record<string, unknown> } {
  const fd = root.open(file);
  if (fd === undefined) return {};
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const out: { train?: Record<string, unknown>; eval?: Record<string, unknown> } = {};
    for (const line of buf.toString('utf8').split('\n').reverse()) {
      const r = parseRecord(line);
      if (r?.type === 'train') out.train ??= r;
      if (r?.type === 'eval') out.eval ??= r;
      if (out.train && out.eval) break;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

interface RunJson {
  init?: { config?: unknown; from?: string; seed?: number; optimizer_state?: string };
  data?: { input_length?: number; batch_size?: number; corpus?: string };
  grad_accumulation?: number;
  optimizer?: { name?: string };
  schedule?: { kind?: string };
}

/** The model config a run trains: its own (from scratch), or the newest saved one inside the root. */
function runConfig(root: RunsRoot, dir: string, run: RunJson): T5Config | undefined {
  const candidates: Array<string | undefined> = [root.child(dir, FINAL_DIR, CONFIG_FILE)];
  const ckpts = root.child(dir, CHECKPOINTS_DIR);
  if (ckpts) {
    try {
      for (const name of fs.readdirSync(ckpts).sort().reverse()) candidates.push(root.child(ckpts, name, CONFIG_FILE));
    } catch { /* no checkpoints yet */ }
  }
  // A continued run starts from a model directory: its config is read only if it is inside the root.
  if (typeof run.init?.from === 'string') candidates.push(root.resolve(path.join(path.relative(root.real, path.resolve(run.init.from)), CONFIG_FILE)));
  const configs: unknown[] = [run.init?.config, ...candidates.map((c) => root.readJson(c))];
  for (const c of configs) {
    if (c === undefined) continue;
    try {
      return parseConfig(c, 'config');
    } catch { /* not a T5 config: try the next */ }
  }
  return undefined;
}

export interface RunInfo {
  /** run.json as written (the settings a resume must match). */
  settings?: unknown;
  config?: T5Config;
  /** Training FLOPs of one step (docs/plans.md#costs), if the run is a T5 trained on span corruption. */
  flops_per_step?: number;
}

export function runInfo(root: RunsRoot, dir: string): RunInfo {
  const run = root.readJson<RunJson>(root.child(dir, RUN_FILE));
  if (!run || typeof run !== 'object') return {};
  const config = runConfig(root, dir, run);
  let flops: number | undefined;
  const input = run.data?.input_length;
  const batch = (run.data?.batch_size ?? NaN) * (run.grad_accumulation ?? 1);
  if (config && typeof input === 'number' && Number.isFinite(batch)) {
    try {
      flops = t5TrainingStepFlops(config, { batch, inputLength: input, targetLength: spanCorruptionLengths(input).targetLength });
    } catch { /* an input length span corruption cannot use */ }
  }
  return { settings: run, config, flops_per_step: flops };
}

export interface ModelInfo {
  config: unknown;
  parameters?: { total: number; parts: Record<string, number> };
  files: Array<{ name: string; bytes: number }>;
}

/** What `deepfusion info` tells of a model directory, from its files alone. */
export function modelInfo(root: RunsRoot, dir: string): ModelInfo | undefined {
  const json = root.readJson(root.child(dir, CONFIG_FILE));
  if (json === undefined) return undefined;
  let parameters: ModelInfo['parameters'];
  try {
    const parts = countByPart(parseConfig(json, CONFIG_FILE));
    parameters = { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
  } catch { /* not a T5 config */ }
  const files = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => ({ name: e.name, bytes: fs.statSync(path.join(dir, e.name)).size }));
  return { config: json, parameters, files: files.sort((a, b) => (a.name === WEIGHTS_FILE ? -1 : b.name === WEIGHTS_FILE ? 1 : a.name.localeCompare(b.name))) };
}
