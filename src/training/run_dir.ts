// The run directory: the unit a training run owns, resumes from and the plans layer caches.
//
//   run.json             what the run is (init, data, optimizer, schedule, …); a resume must match it
//   run.lock             the pid of the process training in it
//   metrics.jsonl        one line per step and per evaluation (metrics.ts)
//   checkpoints/step-N/  the last few checkpoints (checkpoint.ts), each complete or absent
//   final/               the model at the last step, with its training state
//   best/                with a scorer (fine-tuning): the model of the best evaluation, and best.json
//   val_loss.svg         the validation-loss curve
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, UserError } from '../errors';
import { temporarySibling, writeFileAtomic } from '../io/atomic';
import { readJsonFile } from '../io/checkpoint';
import { readTrainerState } from './checkpoint';

export const RUN_FILE = 'run.json';
export const LOCK_FILE = 'run.lock';
export const CHECKPOINTS_DIR = 'checkpoints';
export const FINAL_DIR = 'final';
export const VAL_LOSS_PLOT = 'val_loss.svg';
export const BEST_DIR = 'best';
/** In best/: the step, score and metrics of the evaluation it was kept for. */
export const BEST_FILE = 'best.json';

export function checkpointDir(runDir: string, step: number): string {
  return path.join(runDir, CHECKPOINTS_DIR, `step-${String(step).padStart(8, '0')}`);
}

/**
 * Takes the run directory for this process; returns the release function. The lock records the
 * pid and when that process started, so a lock left by a killed run is taken over even when its
 * pid now belongs to another process. A holder that is still alive gets a few seconds to exit (a
 * plan worker whose runner was killed exits by itself) before the run is refused.
 */
export function lockRun(runDir: string, waitMs = 3000): () => void {
  const file = path.join(runDir, LOCK_FILE);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid} ${processStart(process.pid) ?? ''}`.trim(), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = lockHolder(file);
    if (holder === null) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(`${runDir}: another training process (pid ${holder}) is using this run directory (lock ${file}). ` +
        `Fix: wait for it to finish or stop it (kill ${holder}); if no training runs there, delete ${file}`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/** The pid holding the lock if that process is still the one that took it, else null (a stale lock). */
function lockHolder(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return null;
  // The pid may have been reused by an unrelated process since.
  const now = processStart(pid);
  return started !== undefined && now !== undefined && now !== started ? null : pid;
}

/** When process `pid` started (clock ticks since boot, from /proc on Linux), or undefined where unknown. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm)": state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LEFTOVER = /^\..+\.tmp-\d+-\d+-\d+$/;

/** Removes what an interrupted write left (temporary siblings from io/atomic.ts). */
export function removeLeftovers(runDir: string): void {
  for (const dir of [runDir, path.join(runDir, CHECKPOINTS_DIR)]) {
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) if (LEFTOVER.test(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

export interface SavedState {
  dir: string;
  step: number;
  final: boolean;
}

/** The most advanced complete checkpoint (or final model) of the run, if any. */
export function latestCheckpoint(runDir: string): SavedState | null {
  const found: SavedState[] = listCheckpoints(runDir).map((c) => ({ ...c, final: false }));
  const finalDir = path.join(runDir, FINAL_DIR);
  if (fs.existsSync(finalDir)) found.push({ dir: finalDir, step: readTrainerState(finalDir).step, final: true });
  return found.reduce<SavedState | null>((best, c) => (!best || c.step > best.step || (c.step === best.step && c.final) ? c : best), null);
}

/** The run's checkpoints (not final/), oldest first. */
export function listCheckpoints(runDir: string): Array<{ dir: string; step: number }> {
  const root = path.join(runDir, CHECKPOINTS_DIR);
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root)
    .map((name) => ({ name, m: /^step-(\d+)$/.exec(name) }))
    .filter((e) => e.m)
    .map((e) => ({ dir: path.join(root, e.name), step: Number(e.m![1]) }))
    .sort((a, b) => a.step - b.step);
}

/** Deletes all but the newest `keep` checkpoints; each is renamed away first, so none is ever seen half-deleted. */
export function pruneCheckpoints(runDir: string, keep: number): void {
  const all = listCheckpoints(runDir);
  for (const { dir } of all.slice(0, Math.max(0, all.length - keep))) {
    const doomed = temporarySibling(dir);
    fs.renameSync(dir, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  }
}

export function writeRunIdentity(runDir: string, identity: Record<string, unknown>): void {
  writeFileAtomic(path.join(runDir, RUN_FILE), `${JSON.stringify(identity, null, 2)}\n`);
}

/** Refuses to resume a run with settings other than those it was started with. */
/**
 * Refuses to resume a run whose settings differ from `identity`. `older` gives, for settings added
 * after a run directory may have been written, the value such a run had without saying so;
 * `fixes`, the fix to name for a field whose difference the user cannot simply undo.
 */
export function checkRunIdentity(runDir: string, identity: Record<string, unknown>, older: Record<string, unknown> = {},
  fixes: Record<string, string> = {}): void {
  const file = path.join(runDir, RUN_FILE);
  const read = readJsonFile(file, 'the run description');
  const saved = read && typeof read === 'object' && !Array.isArray(read) ? { ...older, ...(read as Record<string, unknown>) } : read;
  const wanted = JSON.parse(JSON.stringify(identity)) as unknown;
  const diff = firstDifference(saved, wanted, '');
  if (diff) {
    const setting = SETTING_OF[diff.path];
    throw new ConfigError(file, diff.path, `${setting ? `(set by ${setting}) ` : ''}this run was started with ${show(diff.saved)}, ` +
      `now ${show(diff.wanted)} is asked for`,
      fixes[diff.path] ?? `repeat the original ${setting ?? 'setting'} to resume (${RUN_FILE} holds it), or train in another run directory`);
  }
}

/** Identity fields that the settings derive from other settings: a user changed those. */
const SETTING_OF: Record<string, string> = {
  'schedule.base': '--lr / "lr"',
  'schedule.lr': '--lr / "lr"',
  'schedule.warmup': '--warmup / "warmup"',
};

function firstDifference(a: unknown, b: unknown, at: string): { path: string; saved: unknown; wanted: unknown } | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const d = firstDifference(ra[key], rb[key], at ? `${at}.${key}` : key);
      if (d) return d;
    }
  }
  return { path: at || '(root)', saved: a, wanted: b };
}

function show(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
