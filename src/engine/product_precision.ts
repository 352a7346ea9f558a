// The precision matrix products take now, as the kernels read it: the state behind
// withPrecision (./precision.ts), in a module of its own so that backends can read it without
// importing what imports them.
export const PRECISIONS = ['bf16', 'fp32'] as const;
export type Precision = (typeof PRECISIONS)[number];

let current: Precision = 'fp32';

/** The precision products take now. */
export function productPrecision(): Precision {
  return current;
}

/** Runs f with products in `precision` (withPrecision checks that the backend has it first). */
export function inProductPrecision<T>(precision: Precision, f: () => T): T {
  const before = current;
  current = precision;
  try {
    return f();
  } finally {
    current = before;
  }
}
