// The dashboard serves nothing outside its runs directory. Every path a request names goes
// through `resolveInside`: `..` segments (however they were encoded in the URL: the router
// decodes once, then this refuses them), absolute paths, NUL bytes, and symlinks whose target
// lies outside the root are all refused the same way, as "not found".
import * as fs from 'node:fs';
import * as path from 'node:path';

export class RunsRoot {
  /** The root with every symlink resolved: what a path must stay under. */
  readonly real: string;

  constructor(dir: string) {
    this.real = fs.realpathSync(dir);
  }

  /**
   * The real path of `rel` (relative to the root, '/'-separated; '' is the root itself), or
   * undefined if it does not exist or is not inside the root once symlinks are resolved.
   */
  resolve(rel: string): string | undefined {
    if (rel.includes('\0')) return undefined;
    const parts = rel.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) return undefined;
    let real: string;
    try {
      real = fs.realpathSync(path.join(this.real, ...parts));
    } catch {
      return undefined;
    }
    return this.contains(real) ? real : undefined;
  }

  /** `rel` below an already resolved directory: the same checks (`name` is a fixed file name like metrics.jsonl). */
  child(dir: string, ...names: string[]): string | undefined {
    return this.resolve(path.join(this.relative(dir), ...names));
  }

  contains(real: string): boolean {
    return real === this.real || real.startsWith(this.real + path.sep);
  }

  /** The '/'-separated path of a real path inside the root ('' for the root). */
  relative(real: string): string {
    return path.relative(this.real, real).split(path.sep).join('/');
  }

  /**
   * Opens a file for reading if it is inside the root. O_NOFOLLOW refuses a symlink put in its
   * place after the check.
   */
  open(real: string): number | undefined {
    const checked = this.resolve(this.relative(real));
    if (checked === undefined) return undefined;
    try {
      return fs.openSync(checked, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
  }

  /** A small file's text (JSON, status), or undefined. */
  readText(real: string | undefined, maxBytes = 16 << 20): string | undefined {
    if (real === undefined) return undefined;
    const fd = this.open(real);
    if (fd === undefined) return undefined;
    try {
      const size = fs.fstatSync(fd).size;
      if (size > maxBytes) return undefined;
      const buf = Buffer.alloc(size);
      const n = fs.readSync(fd, buf, 0, size, 0);
      return buf.subarray(0, n).toString('utf8');
    } catch {
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A small JSON file, or undefined if absent, unreadable or not JSON. */
  readJson<T = unknown>(real: string | undefined): T | undefined {
    const text = this.readText(real);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }
}
