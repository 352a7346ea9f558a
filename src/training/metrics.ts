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
  /**
   * With plain SGD: gradient descent's implicit regulariser (h/4)·‖∇L‖² at this step, h the step
   * size actually applied (docs/dynamics.md). Absent for other optimizers, whose steps are not h·∇L.
   */
  implicit_reg?: number;
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

/** What a step probe (TrainOptions.probe) logs: its own type and the step of the parameters it measured. */
export interface ProbeRecord {
  type: string;
  step: number;
  [field: string]: unknown;
}

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

  append(record: MetricsRecord | ProbeRecord): void {
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

function readRecords(file: string): ProbeRecord[] {
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as ProbeRecord];
    } catch {
      throw new FileError(file, `line ${i + 1} is not JSON`, 'remove the damaged line');
    }
  });
}

export function readMetrics(file: string): { train: TrainRecord[]; eval: EvalRecord[] } {
  const records = readRecords(file) as unknown as Array<MetricsRecord | ProbeRecord>;
  return {
    train: records.filter((r): r is TrainRecord => r.type === 'train'),
    eval: records.filter((r): r is EvalRecord => r.type === 'eval'),
  };
}

/** The records a probe of this type logged, in step order. */
export function readProbeRecords(file: string, type: string): ProbeRecord[] {
  return readRecords(file).filter((r) => r.type === type);
}
