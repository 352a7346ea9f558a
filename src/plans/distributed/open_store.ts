// Opens the store a --store value names (store.ts has the interface, store_fs.ts and store_s3.ts
// the two kinds).
import { UserError } from '../../errors';
import type { ArtifactStore } from './store';

/** Opens the store a URL names: s3://bucket/prefix?endpoint=…, or a directory. */
export function openStore(url: string): ArtifactStore {
  // Loaded when used: the S3 client is large, and most runs use neither store.
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (url.startsWith('s3://')) return (require('./store_s3') as typeof import('./store_s3')).S3Store.open(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new UserError(`--store ${url}: unknown kind of store. Fix: give a directory (shared by every machine) or s3://bucket/prefix`);
  }
  return (require('./store_fs') as typeof import('./store_fs')).FsStore.open(url);
  /* eslint-enable @typescript-eslint/no-require-imports */
}
