// Progress across a plan's jobs: on a terminal a block redrawn in place (a header and one bar per
// running job); otherwise plain lines when jobs start and finish and, every so often, per job.
import type { JobInstance } from '../plans/graph';
import type { JobEvent, JobResult } from '../plans/job';
import type { RunnerEvents } from '../plans/runner';
import { formatDuration } from './format';
import { progressLine, type ProgressSink } from './progress';

interface Running {
  job: JobInstance;
  threads: number;
  /** The worker a queue placed the job on. */
  worker?: string;
  started: number;
  firstStep?: { step: number; t: number };
  step: number;
  total: number;
  fields: Record<string, string>;
  lastLine: number;
}

export class PlanBoard implements RunnerEvents {
  private readonly running = new Map<string, Running>();
  private done = 0;
  private cachedCount = 0;
  private drawnLines = 0;
  private lastDraw = 0;
  private readonly startTime = performance.now();

  /** `queued`: jobs go to a queue, so a job starts when a worker takes it, with the worker's threads. */
  constructor(private readonly total: number, private readonly out: ProgressSink = process.stderr, private readonly interval = 15,
    private readonly queued = false) {}

  cached(job: JobInstance, result: JobResult): void {
    this.done++;
    this.cachedCount++;
    this.line(`cached   ${job.id} (${finalLoss(result)})`);
  }

  started(job: JobInstance, threads: number): void {
    this.running.set(job.id, { job, threads, started: performance.now(), step: 0, total: 0, fields: {}, lastLine: performance.now() });
    this.line(this.queued ? `queued   ${job.id}` : `started  ${job.id} (${threads} thread${threads > 1 ? 's' : ''})`);
  }

  progress(job: JobInstance, e: JobEvent): void {
    const r = this.running.get(job.id);
    if (!r) return;
    if (e.type === 'note') {
      this.line(`         ${job.id}: ${e.text}`);
      return;
    }
    if (e.type === 'placed') {
      // A second placement is a job that moved (its worker was lost) and resumes elsewhere.
      const moved = r.worker !== undefined;
      r.worker = e.machine;
      r.threads = e.threads ?? r.threads;
      this.line(`${moved ? 'moved    ' : 'started  '}${job.id} ${moved ? 'to' : 'on'} ${e.machine} (${r.threads} thread${r.threads > 1 ? 's' : ''})`);
      return;
    }
    const t = performance.now();
    r.firstStep ??= { step: e.step, t };
    r.step = e.step;
    r.total = e.total;
    r.fields = {
      ...(r.worker !== undefined ? { on: r.worker } : {}),
      ...(e.loss !== undefined ? { loss: e.loss.toFixed(3) } : {}),
      ...(e.tokensPerSecond !== undefined ? { 'tok/s': e.tokensPerSecond.toFixed(0) } : {}),
    };
    if (this.out.isTTY) {
      if (t - this.lastDraw > 100) this.draw();
    } else if ((t - r.lastLine) / 1000 >= this.interval) {
      r.lastLine = t;
      this.out.write(`${this.jobLine(r, undefined)}\n`);
    }
  }

  finished(job: JobInstance, result: JobResult): void {
    const r = this.running.get(job.id);
    this.running.delete(job.id);
    this.done++;
    const took = r ? formatDuration((performance.now() - r.started) / 1000) : '';
    this.line(`finished ${job.id} in ${took}${result.worker !== undefined ? ` on ${result.worker}` : ''} (${finalLoss(result)})`);
  }

  /** Leaves the terminal below the block. */
  close(): void {
    this.erase();
  }

  private line(text: string): void {
    this.erase();
    this.out.write(`${text}\n`);
    if (this.out.isTTY) this.draw();
  }

  private jobLine(r: Running, barWidth: number | undefined): string {
    const rate = r.firstStep && r.step > r.firstStep.step ? (r.step - r.firstStep.step) / ((performance.now() - r.firstStep.t) / 1000) : 0;
    return progressLine({
      label: r.job.id.padEnd(18), done: r.step, total: r.total, fields: r.fields,
      eta: rate > 0 ? (r.total - r.step) / rate : Infinity, barWidth,
    });
  }

  private draw(): void {
    this.erase();
    this.lastDraw = performance.now();
    const elapsed = formatDuration((performance.now() - this.startTime) / 1000);
    const lines = [
      `plan: ${this.done}/${this.total} jobs done${this.cachedCount ? ` (${this.cachedCount} cached)` : ''}, ${this.running.size} running · ${elapsed}`,
      ...[...this.running.values()].map((r) => `  ${this.jobLine(r, 20)}`),
    ];
    const width = (this.out.columns ?? 100) - 1;
    this.out.write(`${lines.map((l) => l.slice(0, width)).join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  private erase(): void {
    if (!this.out.isTTY || this.drawnLines === 0) return;
    this.out.write(`\x1b[${this.drawnLines}A\x1b[J`);
    this.drawnLines = 0;
  }
}

function finalLoss(result: JobResult): string {
  const last = result.evals.at(-1);
  if (last) return `val loss ${last.val_loss.toFixed(3)}, acc ${(100 * last.val_accuracy).toFixed(1)}%`;
  const err = result.facts.logits_relative_error;
  return typeof err === 'number' ? `fused, logits rel. error ${err.toExponential(1)}` : result.kind;
}
