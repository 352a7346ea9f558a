// The runner's side of a plan on several machines: an Executor that puts each ready job on a
// BullMQ queue instead of forking it, and resolves when a worker has published its result to the
// store. The runner keeps owning the graph (what is ready, what is cached, the report); workers
// only ever see single jobs. A job's queue id is its content key, so two runners that submit the
// same job share one execution. See docs/distributed.md.
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobFailed, JOB_LOG, type Executor } from '../executor';
import type { JobEvent, JobResult, JobSpec } from '../job';
import type { DataSettings } from '../../data/settings';
import { downloadFile, downloadText, newId, publishData, readDone, storeKeys, type DoneRecord } from './artifacts';
import { queuedJob, type QueuedJob } from './payload';
import { ATTEMPTS, CANCEL_CHANNEL, connect, FAILURE, keyOfQueueJobId, QUEUE_NAME, QUEUE_PREFIX, queueJobId, waitReady } from './queue';
import { openStore } from './open_store';
import type { ArtifactStore } from './store';

export interface QueueExecutorOptions {
  /** redis:// or rediss:// URL of the queue. */
  queue: string;
  /** Where jobs' files live (a directory or s3://…); the workers must use the same. */
  store: string;
  /** Besides listening to the queue's events, check the store and the queue this often. */
  pollSeconds?: number;
}

interface Waiting {
  spec: JobSpec;
  onEvent: (e: JobEvent) => void;
  submittedAt: number;
  /** On the queue (or found done): only then can the queue have lost it. */
  submitted?: boolean;
  queueSeconds?: number;
  resolve(r: JobResult): void;
  reject(err: unknown): void;
}

export class QueueExecutor implements Executor {
  /** Every ready job is submitted at once; the workers' slots decide how many run. */
  readonly capacity = Number.POSITIVE_INFINITY;
  private readonly waiting = new Map<string, Waiting>();
  private readonly dataRefs = new Map<string, Promise<QueuedJob['files']>>();
  private cancelling = false;
  private poller: NodeJS.Timeout | undefined;

  private constructor(
    private readonly opts: QueueExecutorOptions,
    private readonly connections: Redis[],
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    readonly store: ArtifactStore,
    private readonly runId: string,
  ) {}

  /** Connects to the queue and the store and marks this run in the store. */
  static async open(opts: QueueExecutorOptions): Promise<QueueExecutor> {
    const store = openStore(opts.store);
    const redis = connect(opts.queue);
    try {
      await waitReady(redis, opts.queue);
    } catch (err) {
      redis.disconnect();
      await store.close();
      throw err;
    }
    const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined);
    const eventsRedis = connect(opts.queue);
    const events = new QueueEvents(QUEUE_NAME, { connection: eventsRedis, prefix: QUEUE_PREFIX });
    events.on('error', () => undefined);
    await events.waitUntilReady();
    const runId = newId();
    await store.writeText(storeKeys.run(runId), `${JSON.stringify({ host: os.hostname(), pid: process.pid, started_at: new Date().toISOString() })}\n`);
    const executor = new QueueExecutor(opts, [redis, eventsRedis], queue, events, store, runId);
    executor.listen();
    return executor;
  }

  get description(): string {
    return `queue ${QUEUE_PREFIX}:${QUEUE_NAME}, store ${this.store.description}`;
  }

  run(spec: JobSpec, onEvent: (e: JobEvent) => void): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      const w: Waiting = { spec, onEvent, submittedAt: Date.now(), resolve, reject };
      this.waiting.set(spec.key, w);
      this.submit(w).catch((err: unknown) => this.settle(spec.key, err));
    });
  }

  /**
   * Cancels this runner's jobs: waiting ones leave the queue, running ones are stopped by their
   * workers (their last checkpoint stays in the store, so a later run resumes them).
   */
  async cancelAll(): Promise<void> {
    this.cancelling = true;
    const keys = [...this.waiting.keys()];
    // Waiting jobs first, so that no worker takes one when a cancelled job frees its slot.
    const started: string[] = [];
    for (const key of keys) {
      try {
        const job = await this.queue.getJob(queueJobId(key));
        if (job && ['waiting', 'prioritized', 'delayed'].includes(await job.getState())) await job.remove();
        else started.push(key);
      } catch {
        started.push(key); // it started meanwhile
      }
    }
    for (const key of started) await this.connections[0].publish(CANCEL_CHANNEL, key);
    for (const key of keys) {
      const w = this.waiting.get(key);
      if (w) this.settle(key, new JobFailed(w.spec.id, `${FAILURE.cancelled}by this runner`, false, path.join(w.spec.dir, JOB_LOG)));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.events.close();
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
    await this.store.close();
  }

  private listen(): void {
    this.events.on('progress', ({ jobId, data }) => {
      const w = this.waiting.get(keyOfQueueJobId(jobId));
      if (!w || typeof data !== 'object' || data === null) return;
      const e = data as JobEvent;
      if (e.type === 'placed') w.queueSeconds ??= (Date.now() - w.submittedAt) / 1000;
      w.onEvent(e);
    });
    this.events.on('completed', ({ jobId }) => { void this.check(keyOfQueueJobId(jobId)); });
    this.events.on('failed', ({ jobId, failedReason }) => { void this.failed(keyOfQueueJobId(jobId), failedReason); });
    // Events can be missed (a Redis restart without persistence loses the queue itself): the
    // store is the truth about what is done, and a job the queue lost is submitted again.
    this.poller = setInterval(() => {
      for (const key of this.waiting.keys()) void this.check(key, true);
    }, (this.opts.pollSeconds ?? 5) * 1000);
    this.poller.unref();
  }

  private async submit(w: Waiting): Promise<void> {
    const done = await readDone(this.store, w.spec.key);
    if (done) {
      await this.finish(w.spec.key, done);
      return;
    }
    const payload = queuedJob(w.spec, this.runId, await this.files(w.spec.data));
    const job = await this.queue.add(w.spec.kind, payload, {
      jobId: queueJobId(w.spec.key),
      attempts: ATTEMPTS,
      backoff: { type: 'fixed', delay: 2000 },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    // The same key was submitted before (by this runner or another): share that execution, and
    // give a failed or cancelled one another go.
    if ((await job.getState()) === 'failed') await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    w.submitted = true;
    await this.check(w.spec.key);
  }

  /** Store references of the plan's corpus and tokenizer files, uploaded once per runner. */
  private files(data: DataSettings): Promise<QueuedJob['files']> {
    const id = `${data.corpus}\n${data.tokenizer}`;
    let refs = this.dataRefs.get(id);
    if (!refs) {
      refs = (async () => ({
        ...(data.corpus !== 'default' ? { corpus: await publishData(this.store, data.corpus) } : {}),
        ...(data.tokenizer !== 'default' ? { tokenizer: await publishData(this.store, data.tokenizer) } : {}),
      }))();
      this.dataRefs.set(id, refs);
    }
    return refs;
  }

  /** Looks for the job's result in the store; with `lost`, also resubmits a job the queue no longer has. */
  private async check(key: string, lost = false): Promise<void> {
    const w = this.waiting.get(key);
    if (!w) return;
    try {
      const done = await readDone(this.store, key);
      if (done) {
        await this.finish(key, done);
        return;
      }
      if (!lost || !w.submitted || this.cancelling) return;
      const job = await this.queue.getJob(queueJobId(key));
      const state = job ? await job.getState() : 'unknown';
      if (state === 'unknown' || state === 'completed') {
        // Gone from the queue without a result (Redis restarted without persistence), or completed
        // by a worker whose result did not reach the store: put it on the queue again.
        if (job && state === 'completed') await job.remove();
        await this.submit(w);
      } else if (state === 'failed' && job) {
        await this.failed(key, job.failedReason);
      }
    } catch {
      // The queue or the store is unreachable for now; the next poll tries again.
    }
  }

  private async finish(key: string, done: DoneRecord): Promise<void> {
    const w = this.waiting.get(key);
    if (!w) return;
    // The job's log, for the runner's own jobs/<key>/ (the models stay in the store).
    const log = done.output.files.find((f) => f.path === JOB_LOG);
    if (log) await downloadFile(this.store, storeKeys.snapshots(key), done.output.snapshot, log, path.join(w.spec.dir, JOB_LOG)).catch(() => false);
    this.settle(key, undefined, { ...done.result, worker: done.worker, ...(w.queueSeconds !== undefined ? { queue_seconds: w.queueSeconds } : {}) });
  }

  private async failed(key: string, reason: string): Promise<void> {
    const w = this.waiting.get(key);
    if (!w) return;
    if (reason.startsWith(FAILURE.cancelled) && !this.cancelling) {
      // Another runner cancelled a job this one still wants.
      const job = await this.queue.getJob(queueJobId(key));
      if (job) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return;
    }
    // A result may have landed after all (a duplicate execution finished).
    const done = await readDone(this.store, key);
    if (done) {
      await this.finish(key, done);
      return;
    }
    const log = path.join(w.spec.dir, JOB_LOG);
    await downloadText(this.store, storeKeys.failedLog(key), log).catch(() => false);
    const userError = reason.startsWith(FAILURE.user);
    const message = userError ? reason.slice(FAILURE.user.length) : reason;
    this.settle(key, new JobFailed(w.spec.id, message, userError, log));
  }

  private settle(key: string, err: unknown, result?: JobResult): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    if (result) w.resolve(result);
    else w.reject(err);
  }
}
