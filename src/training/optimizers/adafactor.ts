// Adafactor (Shazeer & Stern 2018) as T5 trains with it: second moments factored into row and
// column statistics for matrices (memory O(R + C) instead of O(R·C)), updates clipped by their
// RMS, the step size scaled by the parameter's RMS. The step size itself comes from the
// schedule: T5's "relative step" min(1e-2, 1/sqrt(t)) is the inverse-sqrt schedule with base 1
// and warmup 10⁴ (schedules.ts, T5_SCHEDULE), so the fusion offset applies to it too.
import { tf, type Tensor } from '../../engine/tf';
import type { Params } from '../../model/params';
import { rms, updateEach, zeroState } from './slots';
import type { Optimizer, OptimizerSlot, OptimizerState, UpdateOptions } from './types';

export interface AdafactorSpec {
  name: 'adafactor';
  /** β2 at update t is `1 − t^decay_rate` (T5: −0.8), so early updates forget fast. */
  decay_rate: number;
  /** Added to squared gradients (keeps the factors positive). */
  eps1: number;
  /** Floor of the parameter scale (a parameter at zero still moves). */
  eps2: number;
  /** Updates whose RMS exceeds this are scaled down to it. */
  clip_threshold: number;
  /** Multiply the step size by max(eps2, RMS(parameter)). */
  scale_parameter: boolean;
  /** First-moment decay; 0 keeps no first moment (T5's setting, and no `m` slot). */
  beta1: number;
  /** Decoupled weight decay, in units of the (scaled) step size. */
  weight_decay: number;
}

export const ADAFACTOR_DEFAULTS: AdafactorSpec = {
  name: 'adafactor', decay_rate: -0.8, eps1: 1e-30, eps2: 1e-3, clip_threshold: 1, scale_parameter: true,
  beta1: 0, weight_decay: 0,
};

const factored = (shape: number[]): boolean => shape.length >= 2;

/**
 * Slots: `vr` and `vc` (row and column second-moment factors of parameters of rank ≥ 2), `v`
 * (the full second moment of parameters of rank < 2) and, only when beta1 > 0, `m` (the running
 * average of updates, shaped like the parameter).
 */
export function adafactorSlots(spec: AdafactorSpec): readonly OptimizerSlot[] {
  const slots: OptimizerSlot[] = [
    { prefix: 'vr', layout: 'row-factor', order: 2, appliesTo: factored },
    { prefix: 'vc', layout: 'col-factor', order: 2, appliesTo: factored },
    { prefix: 'v', layout: 'like-param', order: 2, appliesTo: (s) => !factored(s) },
  ];
  if (spec.beta1 > 0) slots.push({ prefix: 'm', layout: 'like-param', order: 1, appliesTo: () => true });
  return slots;
}

export function adafactor(spec: AdafactorSpec): Optimizer {
  const slots = adafactorSlots(spec);
  const { name: _n, ...hyperparameters } = spec;
  return {
    name: 'adafactor',
    slots,
    hyperparameters,
    init: (params: Params): OptimizerState => zeroState('adafactor', slots, params),
    apply(params, grads, state, { lr, gradScale = 1 }: UpdateOptions) {
      const t = state.step + 1;
      const beta2 = 1 - t ** spec.decay_rate;
      return updateEach(slots, params, grads, state, { step: t, gradScale }, (p, g, s) => {
        // Full-size passes are what this costs, so eps1 is added after the factors' means
        // (the same statistic) and clipping and step size make one scalar.
        const g2 = tf.square(g);
        const next: Record<string, Tensor> = {};
        let u: Tensor;
        if (factored(p.shape)) {
          next.vr = ema(s.vr, tf.add(tf.mean(g2, -1), spec.eps1), beta2);
          next.vc = ema(s.vc, tf.add(tf.mean(g2, -2), spec.eps1), beta2);
          // v ≈ vr·vcᵀ / mean(vr): the rank-1 estimate whose row and column means match.
          const rowFactor = tf.rsqrt(tf.div(next.vr, tf.mean(next.vr, -1, true))).expandDims(-1);
          const colFactor = tf.rsqrt(next.vc).expandDims(-2);
          u = tf.mul(tf.mul(g, rowFactor), colFactor);
        } else {
          next.v = ema(s.v, tf.add(g2, spec.eps1), beta2);
          u = tf.mul(g, tf.rsqrt(next.v));
        }
        const stepSize = spec.scale_parameter ? tf.mul(tf.maximum(rms(p), spec.eps2), lr) : tf.scalar(lr);
        u = tf.mul(u, tf.div(stepSize, tf.maximum(1, tf.div(rms(u), spec.clip_threshold))));
        if (spec.beta1 > 0) u = next.m = ema(s.m, u, spec.beta1);
        const decayed = spec.weight_decay === 0 ? p : tf.sub(p, tf.mul(p, tf.mul(stepSize, spec.weight_decay)));
        return { param: tf.sub(decayed, u), slots: next };
      });
    },
  };
}

/** β·old + (1 − β)·x */
function ema(old: Tensor, x: Tensor, beta: number): Tensor {
  return tf.add(tf.mul(old, beta), tf.mul(x, 1 - beta));
}
