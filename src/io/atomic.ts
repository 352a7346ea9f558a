// Nothing half-written is ever left behind: files and directories are built under a temporary
// name next to their destination and renamed into place only when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';

let counter = 0;

/** A unique sibling name for building `target` before the final rename. */
export function temporarySibling(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}-${counter++}`);
}

/** Writes a file via a temporary sibling and a rename. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Builds a directory with `fill(tmpDir)` and moves it to `target` when `fill` succeeds. An
 * existing `target` is replaced only after the new one is complete.
 */
export async function writeDirAtomic(target: string, fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = temporarySibling(target);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
    if (fs.existsSync(target)) {
      const old = temporarySibling(target);
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
