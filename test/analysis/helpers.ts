// Exact cases for the dynamics analyses: quadratic losses whose Hessian is known, over the
// parameter layout of a real (fused) model, and the golden T5 fixture with its float64 reference.
import * as path from 'node:path';
import { fieldOf, type GradientField } from '../../src/analysis/gradient_field';
import type { ParamLayout } from '../../src/analysis/vectors';
import { dot } from '../../src/analysis/vectors';
import { Rng } from '../../src/util/rng';
import { FIXTURES } from '../helpers/fixtures';

/** Float64 references of the dynamics instruments for t5-v11-tiny (scripts/dynamics_reference.py). */
export const DYNAMICS_FIXTURE = path.join(FIXTURES, 'dynamics-t5-v11-tiny');

export function normals(n: number, seed: number, std = 1): Float64Array {
  return Float64Array.from(Rng.forKey(seed, 'analysis-test').normals(n, std));
}

/**
 * L(θ) = ½ Σ dᵢθᵢ² + (c/2)(u·θ)²: Hessian H = diag(d) + c·uuᵀ, exactly, so H v = d ⊙ v + c·u (u·v).
 * `layout` gives the shape; the loss does not care what the entries are.
 */
export function quadratic(layout: ParamLayout, d: Float64Array, u: Float64Array, c: number, theta0: Float64Array): GradientField & { hv(v: Float64Array): Float64Array } {
  const hv = (v: Float64Array): Float64Array => {
    const s = c * dot(u, v);
    return v.map((x, i) => d[i] * x + s * u[i]);
  };
  const field = fieldOf(layout, theta0, (theta) => ({ loss: 0.5 * dot(theta, hv(theta)), grad: hv(theta) }));
  return Object.assign(field, { hv });
}

/** A layout of one flat parameter of n entries. */
export function flatLayout(n: number): ParamLayout {
  return { names: ['x'], shapes: [[n]], offsets: [0], sizes: [n], size: n };
}
