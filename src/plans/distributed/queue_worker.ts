// A worker machine's side of a distributed plan (`deepfusion worker`): takes jobs from the BullMQ
// queue, checks each message, fetches the job's data and input models from the store, runs it
// with the same code as a local run (a forked process per job, logging to jobs/<key>/log.txt),
// publishes its checkpoints while it trains and its output when it is done. The worker process
// works in its work directory, so that every worker sees a job at the same relative paths and a
// job that moves between machines resumes from its checkpoint. See docs/distributed.md.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { UserError } from '../../errors';
import { canonicalJson } from '../graph';
import { JobFailed, JOB_LOG, LocalProcessExecutor } from '../executor';
import type { JobEvent, JobSpec, NodeKinds } from '../job';
import {
  CheckpointPublisher, fetchData, fetchInput, publishOutput, readDone, restoreCheckpoint, storeKeys,
} from './artifacts';
import { checkQueuedJob, RefusedJob, type QueuedJob } from './payload';
import { CANCEL_CHANNEL, connect, FAILURE, MAX_STALLED, QUEUE_NAME, QUEUE_PREFIX, queueJobId, waitReady } from './queue';
import { openStore } from './open_store';
import type { ArtifactStore } from './store';

export interface QueueWorkerOptions {
  queue: string;
  store: string;
  /** Jobs at once. */
  slots: number;
  /** Compute threads per job. */
  threads: number;
  workDir: string;
  name: string;
  /** Lock time and stalled-job check interval. */
  stallSeconds: number;
  /** How often a running job's directory is looked at for a new checkpoint to publish. */
  checkpointSeconds?: number;
  /** What the worker does, one line each (started, finished, failed, published). */
  log?: (line: string) => void;
}

/** Progress events go to Redis at most this often per job (notes and placements always). */
const PROGRESS_INTERVAL_MS = 1000;

const cancelReasons = { runner: 'cancelled by a runner', stopping: 'the worker is stopping', lockLost: 'the job\'s lock was lost' };

export class QueueWorker {
  private readonly once = new Map<string, Promise<unknown>>();
  private readonly knownRuns = new Set<string>();
  private worker!: Worker;
  private subscriber!: Redis;

  private constructor(private readonly opts: QueueWorkerOptions, private readonly store: ArtifactStore, private readonly kinds: NodeKinds,
    private readonly redis: Redis) {}

  /** Connects, then takes jobs until stop(). Changes the process's working directory to the work directory. */
  static async start(opts: QueueWorkerOptions): Promise<QueueWorker> {
    const workDir = path.resolve(opts.workDir);
    fs.mkdirSync(path.join(workDir, 'jobs'), { recursive: true });
    const store = openStore(opts.store);
    const redis = connect(opts.queue);
    await waitReady(redis, opts.queue);
    process.chdir(workDir);
    // Tests substitute their own node kinds, as for local runs (src/plans/worker.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { nodeKinds } = require(process.env.DEEPFUSION_KINDS_MODULE ?? path.join(__dirname, '..', 'kinds')) as { nodeKinds: NodeKinds };
    const w = new QueueWorker({ ...opts, workDir }, store, nodeKinds, redis);
    await w.listen();
    return w;
  }

  get storeDescription(): string {
    return this.store.description;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private async listen(): Promise<void> {
    const ms = this.opts.stallSeconds * 1000;
    this.worker = new Worker(QUEUE_NAME, (job, token, signal) => this.process(job, token, signal), {
      connection: this.redis, prefix: QUEUE_PREFIX, concurrency: this.opts.slots,
      lockDuration: ms, stalledInterval: ms, maxStalledCount: MAX_STALLED, name: this.opts.name,
    });
    this.worker.on('error', (err) => this.log(`queue: ${err.message}`));
    // This worker found another's job without a live lock (its worker gone) and put it back on the queue.
    this.worker.on('stalled', (id) => this.log(`stalled   ${id}: its worker is gone; back on the queue`));
    // Someone else holds the job now (it was found stalled, or Redis lost it): stop our copy.
    this.worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) this.worker.cancelJob(id, cancelReasons.lockLost);
    });
    this.subscriber = connect(this.opts.queue);
    this.subscriber.on('message', (_channel, key: string) => {
      if (this.worker.cancelJob(queueJobId(key), cancelReasons.runner)) this.log(`cancel    ${key}`);
    });
    await this.subscriber.subscribe(CANCEL_CHANNEL);
    await this.worker.waitUntilReady();
  }

  /**
   * Stops taking jobs; running ones are stopped, their last checkpoints published, and they go
   * back to the queue for another worker.
   */
  async stop(): Promise<void> {
    this.worker.cancelAllJobs(cancelReasons.stopping);
    await this.worker.close();
    await this.subscriber.quit().catch(() => undefined);
    this.redis.disconnect();
    await this.store.close();
  }

  private async process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<{ worker: string }> {
    let q: QueuedJob;
    try {
      q = checkQueuedJob(job.data, this.kinds);
      await this.checkRun(q.run);
    } catch (err) {
      if (!(err instanceof RefusedJob)) throw err;
      this.log(`refused   ${String(job.id)}: ${err.message}`);
      throw new UnrecoverableError(`${FAILURE.user}${err.message}`);
    }
    const done = await readDone(this.store, q.key);
    if (done) return { worker: done.worker };
    const dir = path.join('jobs', q.key);
    const abs = path.join(this.opts.workDir, dir);
    const emit = this.progressSender(job);
    emit({ type: 'placed', machine: this.opts.name, threads: this.opts.threads }, true);
    this.log(`started   ${q.id} (${q.key})`);

    let publisher: CheckpointPublisher | undefined;
    let publishing: Promise<unknown> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const executor = new LocalProcessExecutor({ capacity: 1, kindsModule: process.env.DEEPFUSION_KINDS_MODULE });
    const onAbort = (): void => executor.cancelAll();
    signal?.addEventListener('abort', onAbort);
    try {
      const data = await this.localData(q);
      const inputs = [];
      for (const key of q.inputs) {
        const result = await this.onceFor(`input ${key}`, () => fetchInput(this.store, key, path.join(this.opts.workDir, 'jobs')));
        inputs.push({ id: key, key, dir: path.join('jobs', key), result });
      }
      signal?.throwIfAborted();
      const resumed = await restoreCheckpoint(this.store, q.key, abs);
      if (resumed.progress >= 0) {
        emit({ type: 'note', text: `resuming from checkpoint ${resumed.progress}${resumed.fromStore ? ' (published by another worker)' : ''}` }, true);
      }
      publisher = new CheckpointPublisher(this.store, q.key, abs, path.join(this.opts.workDir, 'staging'), this.opts.name);
      if (resumed.fromStore) publisher.skipCurrent();
      const publish = (): void => {
        publishing = publishing.then(() => publisher?.publish()).then((published) => {
          if (published) this.log(`published ${q.id}: checkpoint`);
        }, (err: unknown) => this.log(`publish   ${q.id}: ${(err as Error).message}`));
      };
      timer = setInterval(publish, (this.opts.checkpointSeconds ?? 2) * 1000);
      signal?.throwIfAborted();
      const spec: JobSpec = { id: q.id, kind: q.kind, key: q.key, dir, settings: q.settings, inputs, data, threads: this.opts.threads };
      const result = await executor.run(spec, (e) => emit(e, e.type !== 'progress'));
      clearInterval(timer);
      await publishing;
      await publishOutput(this.store, q.key, abs, result, this.opts.name);
      this.log(`finished  ${q.id}`);
      return { worker: this.opts.name };
    } catch (err) {
      clearInterval(timer);
      await publishing;
      // What the job got to stays available: another worker (or a later run) resumes from it.
      await publisher?.publish().catch(() => false);
      const log = path.join(abs, JOB_LOG);
      if (fs.existsSync(log)) await this.store.upload(storeKeys.failedLog(q.key), log).catch(() => undefined);
      const message = err instanceof JobFailed ? reasonOf(err) : (err as Error).message ?? String(err);
      if (signal?.aborted) {
        this.log(`stopped   ${q.id}: ${String(signal.reason)}`);
        if (signal.reason === cancelReasons.stopping && token) {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        throw new UnrecoverableError(`${FAILURE.cancelled}${String(signal.reason)}`);
      }
      this.log(`failed    ${q.id}: ${message}`);
      if ((err instanceof JobFailed && err.userError) || err instanceof UserError) throw new UnrecoverableError(`${FAILURE.user}${message}`);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The runner must have marked its run in this worker's store: else the two use different stores. */
  private async checkRun(run: string): Promise<void> {
    if (this.knownRuns.has(run)) return;
    if ((await this.store.readText(storeKeys.run(run))) === undefined) {
      throw new RefusedJob(`the runner's store is not this worker's (${this.store.description}). ` +
        'Fix: give the runner and every worker the same --store');
    }
    this.knownRuns.add(run);
  }

  /** The job's data settings with its corpus and tokenizer files fetched into the work directory (relative paths). */
  private async localData(q: QueuedJob): Promise<QueuedJob['data']> {
    const data = { ...q.data };
    for (const k of ['corpus', 'tokenizer'] as const) {
      const ref = q.files[k];
      if (ref !== undefined) data[k] = await this.onceFor(`data ${ref}`, () => fetchData(this.store, ref, this.opts.workDir));
    }
    if (this.kinds[q.kind].readsData) await this.onceFor(`prepare ${canonicalJson(data)}`, () => prepareData(data));
    return data;
  }

  /** Runs `make` once per name in this worker; a failed attempt is forgotten, so a later job tries again. */
  private onceFor<T>(name: string, make: () => Promise<T>): Promise<T> {
    let p = this.once.get(name) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.once.set(name, p);
      p.catch(() => this.once.delete(name));
    }
    return p;
  }

  /** Sends a job's events to the runner through the queue, progress at most once a second. */
  private progressSender(job: Job): (e: JobEvent, always: boolean) => void {
    let last = 0;
    return (e, always) => {
      const now = Date.now();
      if (!always && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      job.updateProgress(e).catch(() => undefined);
    };
  }
}

/** Trains the tokenizer and tokenizes the corpus into this machine's cache, in a child process. */
function prepareData(data: QueuedJob['data']): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'prepare_data.js'), [JSON.stringify(data)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => {
      if (code === 0) resolve();
      const last = stderr.trim().split('\n').at(-1) ?? '';
      if (code === 2) reject(new UserError(last.replace(/^error: /, '')));
      else reject(new Error(`preparing the plan's data failed (exit ${code}): ${last}`));
    });
  });
}

/** What went wrong in a job, without the "job X failed: … (log: …)" wrapping (the runner adds its own). */
function reasonOf(err: JobFailed): string {
  const prefix = `job ${err.jobId} failed: `;
  const suffix = ` (log: ${err.log})`;
  let m = err.message;
  if (m.startsWith(prefix)) m = m.slice(prefix.length);
  if (m.endsWith(suffix)) m = m.slice(0, -suffix.length);
  return m;
}
