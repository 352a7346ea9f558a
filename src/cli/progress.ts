// Progress of long work (training steps, plan jobs): a bar redrawn in place on a terminal, plain
// lines every so often otherwise (logs, CI, worker pipes), with rate-based ETA either way.
import { formatDuration } from './format';

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Units of work in all, e.g. the last step. */
  total: number;
  /** Units already done when this display starts (a resumed run): they do not count toward the rate. */
  start?: number;
  label?: string;
  /** Default process.stderr. */
  out?: ProgressSink;
  /** Seconds between plain lines when `out` is not a terminal; default 10. */
  interval?: number;
  /** Clock in seconds (injectable for tests); default the monotonic clock. */
  now?: () => number;
}

export class Progress {
  private readonly out: ProgressSink;
  private readonly now: () => number;
  private readonly startTime: number;
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawnDone = -1;
  private drawn = false;
  private done: number;
  private fields: Record<string, string> = {};

  constructor(private readonly opts: ProgressOptions) {
    this.out = opts.out ?? process.stderr;
    this.now = opts.now ?? (() => performance.now() / 1000);
    this.startTime = this.now();
    this.start = opts.start ?? 0;
    this.done = this.start;
  }

  /** Records progress; draws when due (terminal: ~10 times a second; otherwise every `interval`). */
  update(done: number, fields: Record<string, string> = {}): void {
    this.done = done;
    this.fields = fields;
    const t = this.now();
    const due = this.out.isTTY ? t - this.lastDraw >= 0.1 : t - this.lastDraw >= (this.opts.interval ?? 10);
    if (due || done >= this.opts.total) this.draw(t);
  }

  /** A line of its own (an evaluation, a checkpoint), printed above the bar. */
  log(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    if (this.out.isTTY) this.draw(this.now());
  }

  /** Final state (unless just shown); leaves the cursor on a fresh line. */
  finish(): void {
    if (this.out.isTTY || this.drawnDone !== this.done) this.draw(this.now());
    if (this.out.isTTY) this.out.write('\n');
    this.drawn = false;
  }

  /** Seconds left at the rate seen since this display started; Infinity before any progress. */
  eta(t = this.now()): number {
    const rate = (this.done - this.start) / (t - this.startTime);
    return rate > 0 ? (this.opts.total - this.done) / rate : Infinity;
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.drawnDone = this.done;
    const line = progressLine({
      label: this.opts.label, done: this.done, total: this.opts.total, fields: this.fields, eta: this.eta(t),
      barWidth: this.out.isTTY ? Math.max(10, Math.min(30, (this.out.columns ?? 80) - 60)) : undefined,
    });
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }

  private clear(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\r\x1b[K');
  }
}

export interface ProgressLine {
  label?: string;
  done: number;
  total: number;
  fields: Record<string, string>;
  /** Seconds left. */
  eta: number;
  /** Draw a bar this many characters wide (terminals); without it the line shows a percentage. */
  barWidth?: number;
}

/** One progress line: `label [####....] 12/100 loss 3.1 · ETA 2m10s`, or with `(12%)` instead of a bar. */
export function progressLine(p: ProgressLine): string {
  const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 100;
  const tail = [...Object.entries(p.fields).map(([k, v]) => `${k} ${v}`), `ETA ${formatDuration(p.eta)}`].join(' · ');
  const label = p.label ? `${p.label} ` : '';
  if (p.barWidth === undefined) return `${label}${p.done}/${p.total} (${pct.toFixed(0)}%) ${tail}`;
  const filled = Math.round((p.barWidth * pct) / 100);
  return `${label}[${'#'.repeat(filled)}${'.'.repeat(p.barWidth - filled)}] ${p.done}/${p.total} ${tail}`;
}
