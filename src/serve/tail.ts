// Following a growing file by its byte offset: each read returns only the complete lines appended
// since the last one, so a metrics.jsonl of a long run is read once, not once per update. A line
// still being written (no newline yet) waits for the next read. A file cut shorter or replaced —
// a resumed run truncates metrics.jsonl to its checkpoint's length — restarts from the top,
// and the reader is told so it can drop what it showed.
import * as fs from 'node:fs';
import type { RunsRoot } from './paths';

export interface TailRead {
  lines: string[];
  /** The file was truncated or replaced: `lines` start from its beginning. */
  reset: boolean;
}

const NEWLINE = 0x0a;

export class LineTail {
  private offset = 0;
  private ino = -1;
  /** Bytes after the last newline: a line still being written. */
  private partial: Buffer = Buffer.alloc(0);
  /** The end of the last complete line, to notice a file rewritten past our offset. */
  private lastLine: Buffer = Buffer.alloc(0);

  /**
   * @param file path of the file (it may not exist yet)
   * @param chunk most bytes one read takes, so one call stays short and bounded in memory
   * @param maxLine a "line" longer than this without a newline is dropped (a corrupt file must not fill memory)
   */
  constructor(private readonly root: RunsRoot, readonly file: string, private readonly chunk = 1 << 20,
    private readonly maxLine = 1 << 20) {}

  /** Bytes consumed so far (complete lines). */
  get position(): number {
    return this.offset;
  }

  /** Starts at the end of the file, minus at most `bytes`, at a line start: for logs, only their last part. */
  skipToTail(bytes: number): void {
    const fd = this.root.open(this.file);
    if (fd === undefined) return;
    try {
      const st = fs.fstatSync(fd);
      if (st.size <= bytes) return;
      const start = st.size - bytes;
      const probe = Buffer.alloc(Math.min(bytes, 64 << 10));
      const n = fs.readSync(fd, probe, 0, probe.length, start);
      const nl = probe.subarray(0, n).indexOf(NEWLINE);
      this.ino = st.ino;
      this.offset = nl >= 0 ? start + nl + 1 : start;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Complete lines appended since the last read (up to `chunk` bytes of them). */
  read(): TailRead {
    const fd = this.root.open(this.file);
    if (fd === undefined) return { lines: [], reset: false };
    try {
      const st = fs.fstatSync(fd);
      let reset = false;
      if ((this.ino !== -1 && st.ino !== this.ino) || st.size < this.offset + this.partial.length || !this.sameLastLine(fd)) {
        reset = this.offset > 0 || this.partial.length > 0;
        this.offset = 0;
        this.partial = Buffer.alloc(0);
        this.lastLine = Buffer.alloc(0);
      }
      this.ino = st.ino;
      const from = this.offset + this.partial.length;
      const length = Math.min(st.size - from, this.chunk);
      if (length <= 0) return { lines: [], reset };
      const fresh = Buffer.alloc(length);
      const n = fs.readSync(fd, fresh, 0, length, from);
      const bytes = Buffer.concat([this.partial, fresh.subarray(0, n)]);
      const end = bytes.lastIndexOf(NEWLINE);
      if (end < 0) {
        this.partial = bytes;
        if (this.partial.length > this.maxLine) this.dropPartial();
        return { lines: [], reset };
      }
      const complete = bytes.subarray(0, end + 1);
      this.partial = Buffer.from(bytes.subarray(end + 1));
      this.offset += complete.length;
      this.lastLine = Buffer.from(complete.subarray(Math.max(0, complete.length - 64)));
      if (this.partial.length > this.maxLine) this.dropPartial();
      const lines = complete.toString('utf8').split('\n');
      lines.pop();
      return { lines, reset };
    } catch {
      return { lines: [], reset: false };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The last bytes we consumed are still there (else the file was rewritten and has grown past our offset). */
  private sameLastLine(fd: number): boolean {
    if (this.lastLine.length === 0) return true;
    const at = this.offset - this.lastLine.length;
    const now = Buffer.alloc(this.lastLine.length);
    const n = fs.readSync(fd, now, 0, now.length, at);
    return n === now.length && now.equals(this.lastLine);
  }

  private dropPartial(): void {
    this.offset += this.partial.length;
    this.lastLine = Buffer.from(this.partial.subarray(Math.max(0, this.partial.length - 64)));
    this.partial = Buffer.alloc(0);
  }
}
