// Global-norm gradient clipping: the whole gradient is scaled by one factor so its direction is
// kept. The factor is applied inside the optimizer's update (UpdateOptions.gradScale), so no
// clipped copy of the gradients is ever made.
import { scoped } from '../../engine/scope';
import { tf } from '../../engine/tf';
import type { Params } from '../../model/params';

/** ‖g‖₂ over every tensor of the gradient map together. */
export function globalNorm(grads: Params): number {
  return scoped(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return Math.sqrt(tf.addN(squares).dataSync()[0]);
  });
}

/**
 * The factor that brings a gradient of norm `norm` down to `maxNorm` (1 when it is already
 * within, or when there is no limit). The 1e-6 keeps the factor finite, as PyTorch's
 * clip_grad_norm_ does.
 */
export function clipScale(norm: number, maxNorm: number | null): number {
  if (maxNorm === null || norm <= maxNorm) return 1;
  return maxNorm / (norm + 1e-6);
}
