// metrics.jsonl: one JSON line per training step and one per evaluation, appended as the run
// goes. A checkpoint records the file's length, so a resumed run cuts off what a killed run
// wrote after its last checkpoint and the file reads as one uninterrupted run.
import * as fs from 'node:fs';
import { diskFullError, FileError } from '../errors';

export const METRICS_FILE = 'metrics.jsonl';

export interface TrainRecord {
  type: 'train';
  step: number;
  /** Mean training loss over the step's target tokens. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  grad_norm: number;
  /** Tokens processed so far (non-padding inputs + loss-carrying targets). */
  tokens: number;
  /** Wall-clock seconds of the run so far, across resumes. */
  elapsed: number;
  /** This step's tokens per second. */
  tokens_per_s: number;
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  val_loss: number;
  val_accuracy: number;
  /** Target tokens evaluated. */
  val_tokens: number;
  /** Training tokens seen so far, as in TrainRecord (so curves can use tokens for x). */
  tokens: number;
  elapsed: number;
  /** With a scorer (fine-tuning): the score, higher is better, and the metrics it averages. */
  score?: number;
  metrics?: Record<string, number>;
}

export type MetricsRecord = TrainRecord | EvalRecord;

export class MetricsLog {
  private bytes: number;

  /** Opens `file` for appending after its first `keepBytes` bytes (0: a fresh log). */
  constructor(readonly file: string, keepBytes: number) {
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size < keepBytes) {
      throw new FileError(file, `is ${size} bytes long, shorter than the ${keepBytes} bytes the checkpoint recorded`,
        'restore the metrics file, or start the run afresh in a new run directory');
    }
    if (size !== keepBytes) fs.truncateSync(file, keepBytes);
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    this.bytes = keepBytes;
  }

  append(record: MetricsRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    try {
      fs.appendFileSync(this.file, line);
    } catch (err) {
      throw diskFullError(err, this.file, Buffer.byteLength(line));
    }
    this.bytes += Buffer.byteLength(line);
  }

  /** Length of the log so far (what a checkpoint records). */
  get size(): number {
    return this.bytes;
  }
}

export function readMetrics(file: string): { train: TrainRecord[]; eval: EvalRecord[] } {
  const train: TrainRecord[] = [];
  const evals: EvalRecord[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: MetricsRecord;
    try {
      r = JSON.parse(line) as MetricsRecord;
    } catch {
      throw new FileError(file, `line ${i + 1} is not JSON`, 'remove the damaged line');
    }
    if (r.type === 'train') train.push(r);
    else if (r.type === 'eval') evals.push(r);
  });
  return { train, eval: evals };
}
