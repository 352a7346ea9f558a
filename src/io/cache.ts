// Where derived artefacts (trained tokenizers, tokenized corpora) are kept between runs. Entries
// are named by a hash of everything they are derived from, so a stale entry is never used — it is
// just never found again — and written atomically, so a killed run leaves no half entry.
import * as os from 'node:os';
import * as path from 'node:path';

/** $DEEPFUSION_CACHE, else ~/.cache/deepfusion. */
export function defaultCacheDir(): string {
  return process.env.DEEPFUSION_CACHE || path.join(os.homedir(), '.cache', 'deepfusion');
}

/** The file of a cache entry: `<cacheDir>/<kind>/<key><extension>`. */
export function cacheFile(kind: string, key: string, extension: string, cacheDir: string = defaultCacheDir()): string {
  return path.join(cacheDir, kind, `${key}${extension}`);
}
