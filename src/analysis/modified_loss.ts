// The modified loss of gradient descent (Barrett & Dherin, ICLR 2021; docs/dynamics.md): one step
// θ₁ = θ₀ − h·∇L(θ₀) stays within O(h³) of the flow of L̃ = L + (h/4)‖∇L‖², and only within O(h²)
// of the flow of L. Measured on a fixed batch: for each h, the distance from θ₁ to each flow at
// time h, the flows integrated by classical Runge–Kutta (RK4) with `substeps` steps, and the
// log-log slopes of the distances against h (about 2 and 3).
//
// Precision: gradients in float32, positions and sums in float64 (θ = θ₀ + δ with δ float64),
// ∇L̃ = g + (h/2)·H g with H g by fourth-order central differences (hvp.ts). Both flows start
// with the same gradient as the step, so float32 noise of a gradient enters only through the
// differences of gradients along the flow, of order h·ε‖g‖.
import type { GradientField } from './gradient_field';
import { calibrateRadius, hessianVectorProduct, type RadiusCalibration } from './hvp';
import { axpy, distance, norm, scaled } from './vectors';

export interface GapRow {
  h: number;
  /** ‖θ₁ − φ_L(h)‖: O(h²). */
  gd_vs_flow: number;
  /** ‖θ₁ − φ_L̃(h)‖: O(h³). */
  gd_vs_modified_flow: number;
  /** (h²/2)·‖H g‖, the leading term of gd_vs_flow. */
  predicted_flow_gap: number;
}

export interface ModifiedLossResult {
  loss: number;
  grad_norm: number;
  hvp_norm: number;
  /** ‖Hg‖/‖g‖: the curvature along the gradient, which sets the h range (h·‖Hg‖/‖g‖ ≪ 1). */
  curvature: number;
  hvp: Omit<RadiusCalibration, 'tried'>;
  substeps: number;
  rows: GapRow[];
  /** Least-squares slopes of log distance against log h. */
  slope_flow: number;
  slope_modified_flow: number;
  evaluations: number;
}

/** Least-squares slope of log y against log x. */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((x, i) => { sxy += (x - mx) * (ly[i] - my); sxx += (x - mx) ** 2; });
  return sxx > 0 ? sxy / sxx : NaN;
}

/**
 * Step sizes where the expansion in h holds and float32 rounding does not yet dominate: h·κ from
 * 0.003 to 0.03 with κ = ‖Hg‖/‖g‖ (log-spaced, `count` of them). Below, the Hessian-vector
 * products' error (about 1e-3 relative on a 13.6 M-parameter T5) swamps the O(h³) gap; above,
 * higher powers of h bend the curves (on a fused T5-M the local slope fell from 3.0 at h·κ = 0.01
 * to 1.6 at h·κ = 0.1).
 */
export function defaultStepSizes(curvature: number, count = 5): number[] {
  const top = 0.03 / curvature;
  return Array.from({ length: count }, (_, i) => Number((top * 10 ** (-i / (count - 1))).toPrecision(3))).reverse();
}

/** δ(h) of the flow θ' = F(θ₀ + δ) from δ = 0, by RK4 with `substeps` steps. */
export function integrate(field: (delta: Float64Array) => Float64Array, size: number, time: number, substeps: number): Float64Array {
  let d = new Float64Array(size);
  const dt = time / substeps;
  for (let s = 0; s < substeps; s++) {
    const k1 = field(d);
    const k2 = field(axpy(dt / 2, k1, d));
    const k3 = field(axpy(dt / 2, k2, d));
    const k4 = field(axpy(dt, k3, d));
    const next = new Float64Array(size);
    for (let i = 0; i < size; i++) next[i] = d[i] + (dt / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    d = next;
  }
  return d;
}

export interface ModifiedLossOptions {
  /** Step sizes; default `defaultStepSizes`. */
  h?: readonly number[];
  substeps: number;
  /** Hessian-vector radius; default calibrated at θ₀ along g. */
  radius?: number;
  /** Called after each step size with its row. */
  onRow?: (row: GapRow, index: number, of: number) => void;
}

/** The gap test of docs/dynamics.md on `field`, from its θ₀. */
export function modifiedLossGap(field: GradientField, o: ModifiedLossOptions): ModifiedLossResult {
  const n = field.layout.size;
  const zero = new Float64Array(n);
  const { loss, grad: g0 } = field.at(zero);
  const calibration = o.radius === undefined ? calibrateRadius(field, zero, g0) : { radius: o.radius, agreement: NaN };
  const r = calibration.radius;
  const hg = hessianVectorProduct(field, zero, g0, r);
  const gradNorm = norm(g0);
  const hvpNorm = norm(hg);
  const curvature = hvpNorm / gradNorm;
  const hs = o.h ?? defaultStepSizes(curvature);
  const minusGrad = (d: Float64Array): Float64Array => scaled(-1, field.at(d).grad);
  const rows = hs.map((h, index) => {
    const step = scaled(-h, g0);
    const flow = integrate(minusGrad, n, h, o.substeps);
    const modified = integrate((d) => {
      const g = field.at(d).grad;
      return scaled(-1, axpy(h / 2, hessianVectorProduct(field, d, g, r), g));
    }, n, h, o.substeps);
    const row: GapRow = {
      h, gd_vs_flow: distance(step, flow), gd_vs_modified_flow: distance(step, modified), predicted_flow_gap: (h * h / 2) * hvpNorm,
    };
    o.onRow?.(row, index, hs.length);
    return row;
  });
  return {
    loss, grad_norm: gradNorm, hvp_norm: hvpNorm, curvature, hvp: { radius: r, agreement: calibration.agreement }, substeps: o.substeps, rows,
    slope_flow: logLogSlope(rows.map((x) => x.h), rows.map((x) => x.gd_vs_flow)),
    slope_modified_flow: logLogSlope(rows.map((x) => x.h), rows.map((x) => x.gd_vs_modified_flow)),
    evaluations: field.evaluations,
  };
}
