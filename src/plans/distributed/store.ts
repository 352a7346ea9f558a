// The store that jobs' inputs and outputs live in when a plan runs on several machines: a flat
// space of objects named by '/'-separated keys. Two implementations: a directory that every
// machine mounts (store_fs.ts) and an S3-compatible bucket (store_s3.ts). Every write is atomic
// per object (a reader sees the old object or the new one, never part of one); what makes a set of
// objects atomic is a manifest written last (artifacts.ts). See docs/distributed.md.

export interface ArtifactStore {
  /** Where the store is, for messages (no credentials). */
  readonly description: string;
  /** A small object's text, or undefined when there is none. */
  readText(key: string): Promise<string | undefined>;
  writeText(key: string, text: string): Promise<void>;
  /** Copies a local file into the store under `key`. */
  upload(key: string, file: string): Promise<void>;
  /** Copies an object into a local file (which the caller places atomically); false when there is no such object. */
  download(key: string, file: string): Promise<boolean>;
  /** Keys that start with `prefix`. */
  list(prefix: string): Promise<string[]>;
  remove(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

// No separators, no control characters, and no leading dot (which also rules out '.' and '..').
// eslint-disable-next-line no-control-regex
const SEGMENT = /^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,254}$/;

/**
 * A store key or a relative path inside a job's directory: '/'-separated names, none empty, none
 * '.' or '..' or hidden, none holding a backslash or a control character, so no key reaches
 * outside the store and no manifest entry outside the directory it is fetched into.
 */
export function isSafeKey(key: string): boolean {
  return key.length > 0 && key.length <= 1024 && key.split('/').every((s) => SEGMENT.test(s));
}

export function checkKey(key: string): string {
  if (!isSafeKey(key)) throw new Error(`unsafe store key ${JSON.stringify(key)}`);
  return key;
}
