// Temporary directories for tests: each one is removed when the test process exits, so a suite
// leaves nothing behind in the system's temporary directory, whether a test passed or failed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const temporaryDirs: string[] = [];
process.on('exit', () => {
  for (const dir of temporaryDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch { /* a mount point still in use, say: nothing more can be done at exit */ }
  }
});

/** A fresh directory named <prefix>XXXXXX, removed when the test process exits. */
export function temporaryDir(prefix = 'deepfusion-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}
