// Shape logic for the native kernels, done once in JavaScript: each function reduces a tfjs
// shape problem to the fewest dimensions the C++ loop needs.

/** Product of dimensions (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** NumPy broadcasting of two shapes, or null when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as `out` (right-aligned), 0 on broadcast axes. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const own = stridesOf(shape);
  return out.map((_, i) => {
    const j = shape.length - out.length + i;
    return j < 0 || shape[j] === 1 ? 0 : own[j];
  });
}

/**
 * The layout the addon's `binary` takes: [rank, dims…, stridesA…, stridesB…], with size-1 axes
 * dropped and neighbouring axes merged wherever both operands step through them contiguously.
 */
export function broadcastLayout(out: readonly number[], a: readonly number[], b: readonly number[]): Float64Array {
  const sa = broadcastStrides(a, out);
  const sb = broadcastStrides(b, out);
  const dims: number[] = [];
  const ka: number[] = [];
  const kb: number[] = [];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && ka[last] === sa[i] * out[i] && kb[last] === sb[i] * out[i]) {
      dims[last] *= out[i];
      ka[last] = sa[i];
      kb[last] = sb[i];
    } else {
      dims.push(out[i]);
      ka.push(sa[i]);
      kb.push(sb[i]);
    }
  }
  if (dims.length === 0) dims.push(1), ka.push(0), kb.push(0);
  return Float64Array.from([dims.length, ...dims, ...ka, ...kb]);
}

/**
 * The layout the addon's `transpose` takes: [rank, inDims…, perm…] after dropping size-1 axes
 * and merging input axes that stay adjacent and in order; null when no element moves.
 */
export function transposeLayout(shape: readonly number[], perm: readonly number[]): Float64Array | null {
  // Renumber the axes that are not size 1.
  const index = new Map<number, number>();
  const sizes: number[] = [];
  shape.forEach((d, axis) => {
    if (d !== 1) index.set(axis, sizes.push(d) - 1);
  });
  const order = perm.filter((axis) => shape[axis] !== 1).map((axis) => index.get(axis)!);
  // Runs of consecutive input axes, in output order, become one axis each.
  const runs: number[][] = [];
  for (const axis of order) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] + 1 === axis) run.push(axis);
    else runs.push([axis]);
  }
  const byInput = [...runs].sort((x, y) => x[0] - y[0]);
  const newPerm = runs.map((run) => byInput.indexOf(run));
  if (newPerm.every((p, i) => p === i)) return null;
  const dims = byInput.map((run) => sizeOf(run.map((axis) => sizes[axis])));
  return Float64Array.from([dims.length, ...dims, ...newPerm]);
}

export interface ReduceLayout {
  /** Permutation that moves the reduced axes last, or null when they are already adjacent. */
  perm: number[] | null;
  outer: number;
  n: number;
  inner: number;
}

/** How to view `shape` as [outer, n, inner] with the axes `axes` (sorted, distinct) in the middle. */
export function reduceLayout(shape: readonly number[], axes: readonly number[]): ReduceLayout {
  const reduced = new Set(axes);
  // Size-1 axes can be treated as reduced or kept, whichever makes the reduced axes adjacent.
  const live = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const liveReduced = live.filter((i) => reduced.has(i));
  const n = sizeOf(axes.map((a) => shape[a]));
  if (liveReduced.length === 0) return { perm: null, outer: sizeOf(shape) / Math.max(n, 1), n, inner: 1 };
  const first = live.indexOf(liveReduced[0]);
  const adjacent = liveReduced.every((axis, j) => live[first + j] === axis);
  if (adjacent) {
    const lo = liveReduced[0];
    const hi = liveReduced[liveReduced.length - 1];
    return {
      perm: null,
      outer: sizeOf(shape.slice(0, lo)),
      n,
      inner: sizeOf(shape.slice(hi + 1)),
    };
  }
  const keptAxes = shape.map((_, i) => i).filter((i) => !reduced.has(i));
  return { perm: [...keptAxes, ...axes], outer: sizeOf(keptAxes.map((a) => shape[a])), n, inner: 1 };
}
