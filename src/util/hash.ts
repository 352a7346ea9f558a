// Content hashes for cache keys and deterministic choices.
import { createHash } from 'node:crypto';

/** SHA-256 of the parts (each length-prefixed, so ["ab","c"] and ["a","bc"] differ), as hex. */
export function sha256Hex(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    h.update(`${bytes.length}:`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** A number in [0, 1) fixed by `text` alone: the first 32 bits of its SHA-256. */
export function unitHash(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0) / 4294967296;
}
