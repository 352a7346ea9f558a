// T5's relative position buckets (docs/t5.md, "Relative position buckets"): bidirectional for the encoder, causal for the decoder.

export interface BucketOptions {
  bidirectional: boolean;
  numBuckets: number;
  maxDistance: number;
}

/** Bucket of one relative position `key − query`. */
export function relativePositionBucket(relative: number, opts: BucketOptions): number {
  let buckets = opts.numBuckets;
  let bucket = 0;
  let distance: number;
  if (opts.bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) bucket += buckets;
    distance = Math.abs(relative);
  } else {
    distance = Math.max(-relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const large = maxExact + Math.trunc(
    (Math.log(distance / maxExact) / Math.log(opts.maxDistance / maxExact)) * (buckets - maxExact));
  return bucket + Math.min(large, buckets - 1);
}

// Every training step asks for the same few matrices (one per stack and sequence length); a
// 128 × 128 one costs ~0.1 ms of Math.log calls, so they are kept. Each caller gets its own copy:
// a tensor made from it hands the array to the backend's buffer pool, which reuses it.
const made = new Map<string, Int32Array>();

/** Bucket ids `[queries · keys]` (row-major, query-major) for positions 0.. of each axis. */
export function bucketMatrix(queries: number, keys: number, opts: BucketOptions): Int32Array {
  const key = `${queries},${keys},${opts.bidirectional},${opts.numBuckets},${opts.maxDistance}`;
  let out = made.get(key);
  if (!out) {
    if (made.size >= 64) made.clear();
    out = fillBuckets(queries, keys, opts);
    made.set(key, out);
  }
  return out.slice();
}

function fillBuckets(queries: number, keys: number, opts: BucketOptions): Int32Array {
  const out = new Int32Array(queries * keys);
  for (let q = 0; q < queries; q++) {
    for (let k = 0; k < keys; k++) out[q * keys + k] = relativePositionBucket(k - q, opts);
  }
  return out;
}
