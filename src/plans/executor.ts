// Where jobs run. The runner decides *what* runs and in which order; an executor decides
// *where*. The local executor forks one worker process per job; a distributed executor would
// implement the same interface over a queue.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ReportedError } from '../errors';
import type { JobEvent, JobResult, JobSpec } from './job';

export interface Executor {
  /** How many jobs may run at once. */
  readonly capacity: number;
  /** Runs a job to completion; rejects with the job's error. */
  run(job: JobSpec, onEvent: (e: JobEvent) => void): Promise<JobResult>;
  /** Stops every running job (their partial work stays in their directories). */
  cancelAll(): void;
}

/** Messages a worker process sends its parent. */
export type WorkerMessage =
  | { type: 'event'; event: JobEvent }
  | { type: 'result'; result: JobResult }
  | { type: 'error'; message: string; userError: boolean };

/**
 * One line: the job, the reason and where its log is (the log holds the details, a stack trace
 * for a bug). Exit code 2 when the reason is the user's to fix (bad input, a full disk), else 1.
 */
export class JobFailed extends ReportedError {
  constructor(readonly jobId: string, message: string, readonly userError: boolean, readonly log: string) {
    super(`job ${jobId} failed: ${message.split('\n')[0]} (log: ${log})`, userError ? 2 : 1);
    this.name = 'JobFailed';
  }
}

export const WORKER_SCRIPT = path.join(__dirname, 'worker.js');
export const JOB_LOG = 'log.txt';

export interface LocalExecutorOptions {
  capacity: number;
  /** Module whose `nodeKinds` export the worker uses (tests substitute their own). */
  kindsModule?: string;
}

export class LocalProcessExecutor implements Executor {
  readonly capacity: number;
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly opts: LocalExecutorOptions) {
    this.capacity = opts.capacity;
  }

  run(job: JobSpec, onEvent: (e: JobEvent) => void): Promise<JobResult> {
    fs.mkdirSync(job.dir, { recursive: true });
    const log = path.join(job.dir, JOB_LOG);
    const out = fs.openSync(log, 'a');
    const child = fork(WORKER_SCRIPT, [], {
      stdio: ['ignore', out, out, 'ipc'],
      env: {
        ...process.env,
        DEEPFUSION_THREADS: String(job.threads),
        ...(this.opts.kindsModule ? { DEEPFUSION_KINDS_MODULE: this.opts.kindsModule } : {}),
      },
    });
    fs.closeSync(out);
    this.children.add(child);
    return new Promise<JobResult>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.children.delete(child);
        fn();
      };
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'event') onEvent(m.event);
        else if (m.type === 'result') settle(() => resolve(m.result));
        else settle(() => reject(new JobFailed(job.id, m.message, m.userError, log)));
      });
      child.on('exit', (code, signal) => {
        settle(() => reject(new JobFailed(job.id, `worker exited (${signal ?? `code ${code}`})`, false, log)));
      });
      child.send(job);
    });
  }

  cancelAll(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}
