// Seeded Gaussian numbers over plain arrays, keyed by (seed, name) so that a tensor's noise does
// not depend on the order tensors are processed in (in memory or streamed).

/** FNV-1a of a string, for deriving per-tensor streams from one seed. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32, uniform in (0, 1), one stream per (seed, key): small, fast, good enough for noise. */
export function uniform(seed: number, key: string): () => number {
  let a = hashString(`${seed}:${key}`);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/** `n` draws from N(0, std²), reproducible from `seed` and `key` (Box–Muller). */
export function gaussian(n: number, std: number, seed: number, key: string): Float32Array {
  const next = uniform(seed, key);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(next()));
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** `n` integers drawn uniformly from [lo, hi), reproducible from `seed` and `key`. */
export function integers(n: number, lo: number, hi: number, seed: number, key: string): number[] {
  const next = uniform(seed, key);
  return Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo)));
}
