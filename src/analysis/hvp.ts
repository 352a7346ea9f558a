// Hessian-vector products by differences of gradients, which work on every backend (the fused
// kernels have first derivatives only). docs/dynamics.md, "Hessian-vector products".
//
// Along the unit vector u = v/‖v‖, with g(r) = ∇L(θ + r·u), the fourth-order central difference
//   H v ≈ ‖v‖ · (−g(2r) + 8·g(r) − 8·g(−r) + g(−2r)) / (12 r)
// has a truncation error O(r⁴) and a rounding error O(ε/r), ε the float32 noise of a gradient.
// The best r depends on the model (1e-2 for a 56 K-parameter T5, 1e-3 for a 13.6 M one), so it is
// calibrated: estimates at radii √10 apart are compared and the radius where two neighbours agree
// best is taken, their disagreement being the error estimate.
import type { GradientField } from './gradient_field';
import { axpy, distance, norm } from './vectors';

/** Radii tried by `calibrateRadius`, √10 apart. */
export const CALIBRATION_RADII = [1e-5, 3.16e-5, 1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2, 3.16e-2, 1e-1];

/** H(θ₀ + δ)·v. A zero v gives zeros without evaluating anything. */
export function hessianVectorProduct(field: GradientField, delta: Float64Array, v: Float64Array, radius: number): Float64Array {
  const n = norm(v);
  const out = new Float64Array(v.length);
  if (n === 0) return out;
  const at = (s: number): Float64Array => field.at(axpy(s * radius / n, v, delta)).grad;
  const p1 = at(1);
  const m1 = at(-1);
  const p2 = at(2);
  const m2 = at(-2);
  const c = n / (12 * radius);
  for (let i = 0; i < out.length; i++) out[i] = c * (8 * (p1[i] - m1[i]) - (p2[i] - m2[i]));
  return out;
}

export interface RadiusCalibration {
  radius: number;
  /** ‖Hv(r) − Hv(r')‖ / ‖Hv(r')‖ of the chosen neighbours: the relative error to expect. */
  agreement: number;
  /** Each radius tried and how much its estimate differed from the next larger radius's. */
  tried: Array<{ radius: number; change: number }>;
}

/**
 * The radius at which Hessian-vector products along `v` at θ₀ + δ are most accurate: of each pair
 * of neighbouring radii, the pair whose estimates agree best, and of that pair the larger radius
 * (less rounding noise; the agreement says truncation is already small there).
 */
export function calibrateRadius(field: GradientField, delta: Float64Array, v: Float64Array,
  radii: readonly number[] = CALIBRATION_RADII): RadiusCalibration {
  const estimates = radii.map((r) => hessianVectorProduct(field, delta, v, r));
  const tried = radii.slice(0, -1).map((radius, i) => {
    const scale = norm(estimates[i + 1]);
    return { radius, change: scale > 0 ? distance(estimates[i], estimates[i + 1]) / scale : 0 };
  });
  let best = 0;
  tried.forEach((t, i) => { if (t.change < tried[best].change) best = i; });
  return { radius: radii[best + 1], agreement: tried[best].change, tried };
}
