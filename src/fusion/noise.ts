// Symmetry breaking for self-fusion (docs/fusion.md, "Self-fusion"). Identical replicas receive
// identical gradients forever, so they never become different models unless something differs.
import { addBlock, sizeOf } from './place';
import type { TensorPlan } from './plan';
import { Rng } from '../util/rng';

export type SymmetryNoise =
  | { kind: 'none' }
  /** Function-preserving: `W_ii += N_i`, `W_ij −= N_i/(k−1)` in block-row i of block-diagonal weights. */
  | { kind: 'paired'; std: number }
  /** `N(0, std²)` added to every entry of every fused tensor; changes the function. */
  | { kind: 'plain'; std: number };

/** `paired:0.01`, `plain:0.01` or `none` (std ≥ 0); undefined when the text is none of these. */
export function parseSymmetryNoise(text: string): SymmetryNoise | undefined {
  if (text === 'none') return { kind: 'none' };
  const [kind, std] = text.split(':');
  const n = Number(std);
  if ((kind !== 'paired' && kind !== 'plain') || std === undefined || std.trim() === '' || !Number.isFinite(n) || n < 0) return undefined;
  return { kind, std: n };
}

/** Whether paired noise touches this tensor: a block-diagonal weight [out, in]. */
export function takesPairedNoise(plan: TensorPlan): boolean {
  return plan.split.length === 2 && plan.split.every(Boolean);
}

/**
 * Adds the noise to a freshly fused tensor in place.
 *
 * Paired noise and why the function is unchanged: block-row i of a block-diagonal weight computes
 * replica i's output from all replicas' inputs, `y_i = Σ_j W_ij x_j`. A self-fused model is
 * symmetric under swapping replicas, so every block-diagonal weight reads equal inputs
 * `x_1 = … = x_k` (q/k/v and wi the normed residual stream, cross-attention k/v the encoder
 * output, o the heads, wo the hidden units). Adding `N_i` to `W_ii` and `−N_i/(k−1)` to each
 * `W_ij` (j ≠ i) adds `N_i·x_i − Σ_{j≠i} N_i·x_j/(k−1) = 0` to `y_i`, while the diagonal blocks
 * now differ between replicas. Embedding, output layer, norms and relative bias have no
 * off-diagonal block to cancel against and are left alone; the replicas differ after the first layer.
 */
export function addSymmetryNoise(plan: TensorPlan, data: Float32Array, noise: SymmetryNoise, seed: number): void {
  if (noise.kind === 'none' || noise.std === 0) return;
  if (noise.kind === 'plain') {
    addBlock(data, plan.shape, Rng.forKey(seed, plan.name).normals(data.length, noise.std), plan.shape, plan.shape.map(() => 0), 1);
    return;
  }
  if (!takesPairedNoise(plan)) return;
  const k = plan.parts.length;
  const blockShape = plan.parts[0].shape;
  if (plan.parts.some((p) => p.shape.some((n, axis) => n !== blockShape[axis]))) {
    throw new Error(`paired noise needs equal blocks (self-fusion), but "${plan.name}" has blocks of different shapes`);
  }
  plan.parts.forEach((row, i) => {
    const n = Rng.forKey(seed, `${plan.name}#${i}`).normals(sizeOf(blockShape), noise.std);
    for (const col of plan.parts) {
      const scale = col === row ? 1 : -1 / (k - 1);
      addBlock(data, plan.shape, n, blockShape, [row.offset[0], col.offset[1]], scale);
    }
  });
}
