// The Lie bracket of the sources' gradient fields (docs/dynamics.md, "The Lie bracket"). A fused
// model's parameters split into the blocks A and B that came from two sources (and off-diagonal
// blocks, which belong to neither). The block gradient fields X_A = (∇_A L, 0) and
// X_B = (0, ∇_B L) have the bracket
//   [X_A, X_B] = DX_B·X_A − DX_A·X_B = (−H_AB g_B, H_BA g_A, 0):
// the cross-Hessian coupling of the parts. Two small steps along X_A and X_B in opposite orders
// differ by h²·[X_A, X_B]; a zero bracket means the parts train independently (the fused model
// re-runs its sources), a non-zero one lets them interact. Measured with two Hessian-vector
// products per pair of sources, H·(g_A, 0) and H·(0, g_B), whose sum is also H·(g_A, g_B, 0).
import type { FusionPlan } from '../fusion/plan';
import { ownerMap, restrict } from './blocks';
import type { GradientField } from './gradient_field';
import { calibrateRadius, hessianVectorProduct, type RadiusCalibration } from './hvp';
import { norm } from './vectors';

export interface PairBracket {
  a: number;
  b: number;
  /** ‖[X_A, X_B]‖. */
  bracket_norm: number;
  /** ‖[X_A, X_B]‖ / ‖g‖², the scale the paper's bound uses. */
  relative_to_grad_squared: number;
  /** ‖[X_A, X_B]‖ / ‖H·(g_A, g_B)‖: the share of the curvature along the gradient that crosses between the parts (dimensionless). */
  relative_to_hvp: number;
}

export interface BracketResult {
  loss: number;
  grad_norm: number;
  /** ‖g‖ restricted to each source's blocks. */
  source_grad_norms: number[];
  pairs: PairBracket[];
  hvp: Omit<RadiusCalibration, 'tried'>;
  evaluations: number;
}

/** The bracket for every pair of sources at the field's θ₀. */
export function lieBracket(field: GradientField, plan: FusionPlan, o: { radius?: number } = {}): BracketResult {
  const zero = new Float64Array(field.layout.size);
  const { loss, grad } = field.at(zero);
  const owner = ownerMap(plan, field.layout);
  const k = plan.sources.length;
  const parts = Array.from({ length: k }, (_, i) => restrict(grad, owner, i));
  const calibration = o.radius === undefined ? calibrateRadius(field, zero, grad) : { radius: o.radius, agreement: NaN };
  // H·(g_i, 0) for each source once; pair (a, b) reads the b-part of H g_a and the a-part of H g_b.
  const products = parts.map((v) => hessianVectorProduct(field, zero, v, calibration.radius));
  const g2 = norm(grad) ** 2;
  const pairs: PairBracket[] = [];
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let cross = 0;
      let along = 0;
      for (let j = 0; j < grad.length; j++) {
        // −H_AB g_B lives on A's entries, H_BA g_A on B's.
        if (owner[j] === a + 1) cross += products[b][j] ** 2;
        else if (owner[j] === b + 1) cross += products[a][j] ** 2;
        along += (products[a][j] + products[b][j]) ** 2;
      }
      const bracket = Math.sqrt(cross);
      pairs.push({
        a, b, bracket_norm: bracket, relative_to_grad_squared: g2 > 0 ? bracket / g2 : 0,
        relative_to_hvp: along > 0 ? bracket / Math.sqrt(along) : 0,
      });
    }
  }
  return {
    loss, grad_norm: Math.sqrt(g2), source_grad_norms: parts.map(norm), pairs,
    hvp: { radius: calibration.radius, agreement: calibration.agreement }, evaluations: field.evaluations,
  };
}
