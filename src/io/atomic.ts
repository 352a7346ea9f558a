// Nothing half-written is ever left behind: files and directories are built under a temporary
// name next to their destination and renamed into place only when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskFullError, FileError } from '../errors';

let counter = 0;

/**
 * `p` as an absolute path without `.`/`..` and with the symbolic links of its existing
 * ancestors resolved (the last component is kept as it is, so a link there is the link itself).
 * Renames work on this path even when a rename moves a directory that `p` went through: with
 * `x/../x`, moving `x` away would leave its own siblings unreachable.
 */
export function resolvedPath(p: string): string {
  const absolute = path.resolve(p);
  const parent = path.dirname(absolute);
  if (parent === absolute) return absolute;
  let real: string;
  try {
    real = fs.realpathSync(parent);
  } catch {
    real = resolvedPath(parent);
  }
  return path.join(real, path.basename(absolute));
}

/** A unique sibling name for building `target` before the final rename. */
export function temporarySibling(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}-${counter++}`);
}

/** Writes a file via a temporary sibling and a rename. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const file = resolvedPath(target);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = temporarySibling(file);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw diskFullError(err, file, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
  }
}

/**
 * Builds a directory with `fill(tmpDir)` and moves it to `target` when `fill` succeeds. An
 * existing `target` is replaced only after the new one is complete, and is put back if the new
 * one cannot be moved into place.
 */
export async function writeDirAtomic(target: string, fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const dir = resolvedPath(target);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = temporarySibling(dir);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
    if (fs.existsSync(dir)) {
      const old = temporarySibling(dir);
      fs.renameSync(dir, old);
      try {
        fs.renameSync(tmp, dir);
      } catch (err) {
        fs.renameSync(old, dir);
        throw err;
      }
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, dir);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw namedAtTarget(err, tmp, dir);
  }
}

/** An error about a file in the temporary directory, told about the file where it was meant to land. */
function namedAtTarget(err: unknown, tmp: string, dir: string): unknown {
  if (!(err instanceof FileError) || !err.file.startsWith(tmp)) return err;
  return new FileError(dir + err.file.slice(tmp.length), err.problem, err.fix);
}
