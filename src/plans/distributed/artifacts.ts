// What lives in the store and how it gets there. A set of files (a job's output, its last
// checkpoint, a corpus) is uploaded under a fresh snapshot name, and only then is its manifest
// written: one object listing every file with its size and SHA-256. Readers go through the
// manifest, so a half-uploaded set is never seen; downloads are checked against it and placed
// atomically. Layout (docs/distributed.md):
//
//   runs/<run id>.json            a runner's mark: workers check that they share its store
//   data/<hash>.json, data/<hash>/<name>/…            a corpus or tokenizer file of a plan, by content
//   jobs/<key>/done.json          the job's result and output manifest: the "done" mark
//   jobs/<key>/checkpoint.json    the manifest of its last published checkpoint (while it runs)
//   jobs/<key>/snap/<id>/…        the files of a snapshot
//   jobs/<key>/failed-log.txt     the log of its last failed attempt
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporarySibling, writeDirAtomic } from '../../io/atomic';
import { listCorpusFiles } from '../../data/corpus_files';
import type { JobResult } from '../job';
import { checkKey, isSafeKey, type ArtifactStore } from './store';

export interface FileEntry { path: string; size: number; sha256: string }
export interface Manifest { snapshot: string; files: FileEntry[] }

/** A finished job in the store. */
export interface DoneRecord {
  result: JobResult;
  /** The worker that ran it. */
  worker: string;
  finished_at: string;
  output: Manifest;
}

/** A job's last published checkpoint: how far it got (the newest checkpoint's number) and its files. */
export interface CheckpointRecord { progress: number; worker: string; files: Manifest }

export const KEY_PATTERN = /^[0-9a-f]{16}$/;

export const storeKeys = {
  run: (runId: string) => `runs/${checkKey(runId)}.json`,
  dataManifest: (hash: string) => `data/${checkKey(hash)}.json`,
  data: (hash: string) => `data/${checkKey(hash)}`,
  done: (key: string) => `jobs/${jobKey(key)}/done.json`,
  checkpoint: (key: string) => `jobs/${jobKey(key)}/checkpoint.json`,
  snapshots: (key: string) => `jobs/${jobKey(key)}/snap`,
  failedLog: (key: string) => `jobs/${jobKey(key)}/failed-log.txt`,
};

function jobKey(key: string): string {
  if (!KEY_PATTERN.test(key)) throw new Error(`not a job key: ${JSON.stringify(key)}`);
  return key;
}

export const newId = (): string => randomBytes(8).toString('hex');

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const relPosix = (root: string, file: string): string => path.relative(root, file).split(path.sep).join('/');

/** Uploads `files` (paths relative to `root`) as a new snapshot under `base`; returns its manifest. */
export async function uploadSnapshot(store: ArtifactStore, base: string, root: string, files: string[]): Promise<Manifest> {
  const snapshot = newId();
  const entries: FileEntry[] = [];
  for (const rel of files) {
    const file = path.join(root, ...rel.split('/'));
    const [size, sha256] = [(await fs.promises.stat(file)).size, await sha256File(file)];
    await store.upload(`${base}/${snapshot}/${checkKey(rel)}`, file);
    entries.push({ path: rel, size, sha256 });
  }
  return { snapshot, files: entries };
}

/** A manifest read from the store, checked: safe relative paths, sizes, hashes. */
export function checkManifest(m: unknown, where: string): Manifest {
  const bad = (why: string): never => { throw new Error(`${where}: invalid manifest (${why})`); };
  if (!m || typeof m !== 'object') bad('not an object');
  const { snapshot, files } = m as Manifest;
  if (typeof snapshot !== 'string' || !/^[0-9a-f]{16}$/.test(snapshot)) bad('snapshot');
  if (!Array.isArray(files)) bad('files');
  for (const f of files) {
    if (!f || typeof f.path !== 'string' || !isSafeKey(f.path)) bad(`path ${JSON.stringify(f?.path)}`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) bad(`size of ${f.path}`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) bad(`sha256 of ${f.path}`);
  }
  return { snapshot, files };
}

/**
 * Downloads a snapshot's files (those under `under`, relative to it, when given) into `target`,
 * which appears complete or not at all (an existing `target` is replaced). Each file is checked
 * against its size and hash.
 */
export async function downloadSnapshot(store: ArtifactStore, base: string, manifest: Manifest, target: string, under?: string): Promise<void> {
  const prefix = under === undefined ? '' : `${under.replace(/\/+$/, '')}/`;
  const wanted = manifest.files.filter((f) => f.path.startsWith(prefix));
  if (under !== undefined && wanted.length === 0) throw new Error(`${base}/${manifest.snapshot}: nothing under ${under}`);
  await writeDirAtomic(target, async (tmp) => {
    for (const f of wanted) {
      const rel = f.path.slice(prefix.length);
      const file = path.join(tmp, ...rel.split('/'));
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const key = `${base}/${manifest.snapshot}/${f.path}`;
      if (!(await store.download(key, file))) throw new Error(`${store.description}: ${key} is missing (the snapshot was replaced meanwhile)`);
      const size = (await fs.promises.stat(file)).size;
      if (size !== f.size || (await sha256File(file)) !== f.sha256) {
        throw new Error(`${store.description}: ${key} does not match its manifest (${size} bytes, expected ${f.size})`);
      }
    }
  });
}

export async function removeSnapshot(store: ArtifactStore, base: string, manifest: Manifest): Promise<void> {
  await store.remove(manifest.files.map((f) => `${base}/${manifest.snapshot}/${f.path}`));
}

export async function readJson<T>(store: ArtifactStore, key: string): Promise<T | undefined> {
  const text = await store.readText(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${store.description}: ${key} is not valid JSON`);
  }
}

export async function readDone(store: ArtifactStore, key: string): Promise<DoneRecord | undefined> {
  const done = await readJson<DoneRecord>(store, storeKeys.done(key));
  if (done) checkManifest(done.output, storeKeys.done(key));
  return done;
}

// ---- a job's directory: what is output, what is a checkpoint ----

const CHECKPOINTS = 'checkpoints';
/** Never published: temporaries of atomic writes, and the lock of a training process. */
const isScratch = (name: string): boolean => name.startsWith('.') || name === 'run.lock';

function walkFiles(root: string, rel = '', skipDir: (rel: string, name: string) => boolean = () => false): string[] {
  const dir = path.join(root, ...rel.split('/').filter(Boolean));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap((e) => {
    if (isScratch(e.name)) return [];
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return skipDir(rel, e.name) ? [] : walkFiles(root, r, skipDir);
    return e.isFile() ? [r] : [];
  });
}

/** The number in a checkpoint's name (`step-00000300` → 300). */
const checkpointNumber = (name: string): number => Number(/(\d+)$/.exec(name)?.[1] ?? -1);

/** For every `checkpoints/` directory in a job's directory (relative path), its newest entry. */
function newestCheckpoints(jobDir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  const dir = path.join(jobDir, ...rel.split('/').filter(Boolean));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory() || isScratch(e.name)) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === CHECKPOINTS) {
      const names = fs.readdirSync(path.join(dir, e.name)).filter((n) => !isScratch(n) && checkpointNumber(n) >= 0);
      const newest = names.sort((a, b) => checkpointNumber(a) - checkpointNumber(b)).at(-1);
      if (newest) out.set(r, newest);
    } else {
      for (const [k, v] of newestCheckpoints(jobDir, r)) out.set(k, v);
    }
  }
  return out;
}

/** How far a job's local work got: the number of its newest checkpoint (−1: none). */
export function localProgress(jobDir: string): number {
  return Math.max(-1, ...[...newestCheckpoints(jobDir).values()].map(checkpointNumber));
}

/** A job's output: every file of its directory but scratch files and checkpoints (the final model holds the last state). */
export function outputFiles(jobDir: string): string[] {
  return walkFiles(jobDir, '', (_rel, name) => name === CHECKPOINTS);
}

/** Publishes a finished job: its output files, then done.json; then its checkpoint, no longer needed, goes. */
export async function publishOutput(store: ArtifactStore, key: string, jobDir: string, result: JobResult, worker: string): Promise<void> {
  const output = await uploadSnapshot(store, storeKeys.snapshots(key), jobDir, outputFiles(jobDir));
  const done: DoneRecord = { result, worker, finished_at: new Date().toISOString(), output };
  await store.writeText(storeKeys.done(key), `${JSON.stringify(done, null, 2)}\n`);
  const checkpoint = await readJson<CheckpointRecord>(store, storeKeys.checkpoint(key));
  if (checkpoint) {
    await store.remove([storeKeys.checkpoint(key)]);
    await removeSnapshot(store, storeKeys.snapshots(key), checkManifest(checkpoint.files, storeKeys.checkpoint(key)));
  }
}

/**
 * Publishes a running job's newest checkpoints so that another worker can resume it: the job's
 * files with, of each `checkpoints/` directory, only the newest entry. Checkpoint entries are
 * complete once they appear and never change, so they are hard-linked into a staging directory
 * (a training process may prune them meanwhile); other files (metrics.jsonl grows) are copied.
 * Returns false when nothing new was there or the checkpoint went away while being staged.
 */
export class CheckpointPublisher {
  private published = '';
  private current: CheckpointRecord | undefined;

  constructor(private readonly store: ArtifactStore, private readonly key: string, private readonly jobDir: string,
    private readonly stagingRoot: string, private readonly worker: string) {}

  /** The checkpoints there now are in the store already (restored from it): publish only newer ones. */
  skipCurrent(): void {
    this.published = this.mark(newestCheckpoints(this.jobDir));
  }

  private mark(newest: Map<string, string>): string {
    return [...newest].sort().map(([k, v]) => `${k}/${v}`).join(',');
  }

  async publish(): Promise<boolean> {
    const newest = newestCheckpoints(this.jobDir);
    const mark = this.mark(newest);
    if (newest.size === 0 || mark === this.published) return false;
    const keep = new Set([...newest].map(([k, v]) => `${k}/${v}`));
    const files = walkFiles(this.jobDir, '', (rel, name) => {
      const inCheckpoints = rel.split('/').at(-1) === CHECKPOINTS;
      return inCheckpoints && !keep.has(`${rel}/${name}`);
    }).filter((f) => f !== 'log.txt');
    const staging = path.join(this.stagingRoot, newId());
    try {
      for (const rel of files) {
        const from = path.join(this.jobDir, ...rel.split('/'));
        const to = path.join(staging, ...rel.split('/'));
        fs.mkdirSync(path.dirname(to), { recursive: true });
        const inCheckpoint = [...keep].some((k) => rel.startsWith(`${k}/`));
        try {
          if (inCheckpoint) fs.linkSync(from, to);
          else fs.copyFileSync(from, to);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
          if (!inCheckpoint) throw err;
          fs.copyFileSync(from, to);
        }
      }
      const manifest = await uploadSnapshot(this.store, storeKeys.snapshots(this.key), staging, files);
      const record: CheckpointRecord = { progress: Math.max(...[...newest.values()].map(checkpointNumber)), worker: this.worker, files: manifest };
      const previous = this.current ?? await readJson<CheckpointRecord>(this.store, storeKeys.checkpoint(this.key));
      await this.store.writeText(storeKeys.checkpoint(this.key), `${JSON.stringify(record, null, 2)}\n`);
      this.current = record;
      this.published = mark;
      if (previous) await removeSnapshot(this.store, storeKeys.snapshots(this.key), checkManifest(previous.files, 'checkpoint'));
      return true;
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
}

/**
 * Makes a job's local directory at least as far along as its published checkpoint: when the store
 * holds a checkpoint newer than the local work (the job ran elsewhere before), the local directory
 * is replaced by it. Returns the progress resumed from (−1: a fresh start) and whether it came from the store.
 */
export async function restoreCheckpoint(store: ArtifactStore, key: string, jobDir: string): Promise<{ progress: number; fromStore: boolean }> {
  const local = localProgress(jobDir);
  const record = await readJson<CheckpointRecord>(store, storeKeys.checkpoint(key));
  if (!record || !(record.progress > local)) return { progress: local, fromStore: false };
  const manifest = checkManifest(record.files, storeKeys.checkpoint(key));
  await downloadSnapshot(store, storeKeys.snapshots(key), manifest, jobDir);
  return { progress: record.progress, fromStore: true };
}

/** Fetches the model an input job produced into `<jobsDir>/<key>/<model>` unless it is there. */
export async function fetchInput(store: ArtifactStore, key: string, jobsDir: string): Promise<JobResult> {
  const done = await readDone(store, key);
  if (!done) throw new Error(`input job ${key} has no result in the store ${store.description}`);
  const model = done.result.model;
  if (model !== undefined) {
    if (!isSafeKey(model)) throw new Error(`input job ${key}: unsafe model path ${JSON.stringify(model)}`);
    const target = path.join(jobsDir, key, ...model.split('/'));
    if (!fs.existsSync(target)) await downloadSnapshot(store, storeKeys.snapshots(key), done.output, target, model);
  }
  return done.result;
}

// ---- plan data: corpus and tokenizer files travel by content ----

/** The files a corpus or tokenizer path stands for, relative to its parent directory. */
function dataFiles(local: string): { root: string; files: string[] } {
  const abs = path.resolve(local);
  const root = path.dirname(abs);
  const name = path.basename(abs);
  if (!fs.statSync(abs).isDirectory()) return { root, files: [name] };
  return { root, files: listCorpusFiles(abs).map((f) => relPosix(root, f)) };
}

/**
 * Puts a corpus or tokenizer path (a file or a directory of corpus files) into the store, named by
 * its content, unless it is there; returns the reference workers fetch it by: `<hash>/<name>`.
 */
export async function publishData(store: ArtifactStore, local: string): Promise<string> {
  const { root, files } = dataFiles(local);
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}\n${await sha256File(path.join(root, ...f.split('/')))}\n`);
  const id = hash.digest('hex').slice(0, 32);
  const ref = `${id}/${path.basename(path.resolve(local))}`;
  if (!isSafeKey(ref) || !files.every(isSafeKey)) throw new Error(`${local}: a file name cannot be stored (control characters or a leading dot)`);
  if (await store.readText(storeKeys.dataManifest(id)) === undefined) {
    const manifest = await uploadSnapshot(store, storeKeys.data(id), root, files);
    await store.writeText(storeKeys.dataManifest(id), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return ref;
}

export const DATA_REF = /^[0-9a-f]{32}\/[^/]+$/;

/**
 * Fetches published data into `<workDir>/data/<hash>/` unless it is there; returns its path
 * relative to the work directory (`data/<hash>/<name>`), the same on every worker, so a training
 * run's description does not change when its job moves.
 */
export async function fetchData(store: ArtifactStore, ref: string, workDir: string): Promise<string> {
  if (!DATA_REF.test(ref) || !isSafeKey(ref)) throw new Error(`not a data reference: ${JSON.stringify(ref)}`);
  const [id, name] = ref.split('/');
  const target = path.join(workDir, 'data', id);
  if (!fs.existsSync(target)) {
    const manifest = checkManifest(await readJson(store, storeKeys.dataManifest(id)), storeKeys.dataManifest(id));
    await downloadSnapshot(store, storeKeys.data(id), manifest, target);
  }
  return `data/${id}/${name}`;
}

/** Downloads one file of a snapshot to `file` (placed atomically), checked against its entry. */
export async function downloadFile(store: ArtifactStore, base: string, snapshot: string, entry: FileEntry, file: string): Promise<boolean> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = temporarySibling(file);
  try {
    if (!(await store.download(`${base}/${snapshot}/${checkKey(entry.path)}`, tmp))) return false;
    if ((await fs.promises.stat(tmp)).size !== entry.size || (await sha256File(tmp)) !== entry.sha256) return false;
    fs.renameSync(tmp, file);
    return true;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Writes a file atomically from the text a store object holds (e.g. a failed job's log). */
export async function downloadText(store: ArtifactStore, key: string, file: string): Promise<boolean> {
  const text = await store.readText(key);
  if (text === undefined) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = temporarySibling(file);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return true;
}
