// Adafactor (Shazeer & Stern 2018) as T5 trains with it: second moments factored into row and
// column statistics for matrices (memory O(R + C) instead of O(R·C)), updates clipped by their
// RMS, the step size scaled by the parameter's RMS. The step size itself comes from the
// schedule: T5's "relative step" min(1e-2, 1/sqrt(t)) is the inverse-sqrt schedule with base 1
// and warmup 10⁴ (schedules.ts, T5_SCHEDULE), so the fusion offset applies to it too.
import { adafactorUpdate, isFactored, type AdafactorAttrs } from '../../engine/fused';
import type { Params } from '../../model/params';
import { updateEach, zeroState, type SlotTensors } from './slots';
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

/**
 * Slots: `vr` and `vc` (row and column second-moment factors of parameters of rank ≥ 2), `v`
 * (the full second moment of parameters of rank < 2) and, only when beta1 > 0, `m` (the running
 * average of updates, shaped like the parameter).
 */
export function adafactorSlots(spec: AdafactorSpec): readonly OptimizerSlot[] {
  const slots: OptimizerSlot[] = [
    { prefix: 'vr', layout: 'row-factor', order: 2, appliesTo: isFactored },
    { prefix: 'vc', layout: 'col-factor', order: 2, appliesTo: isFactored },
    { prefix: 'v', layout: 'like-param', order: 2, appliesTo: (s) => !isFactored(s) },
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
      // The arithmetic is the engine's fused kernel: one kernel per parameter.
      const attrs: AdafactorAttrs = {
        learningRate: lr, beta2: 1 - t ** spec.decay_rate, eps1: spec.eps1, eps2: spec.eps2,
        clipThreshold: spec.clip_threshold, scaleParameter: spec.scale_parameter, beta1: spec.beta1,
        weightDecay: spec.weight_decay, gradScale,
      };
      return updateEach(slots, params, grads, state, t, (p, g, s) => {
        const { param, ...moments } = adafactorUpdate(p, g, s, attrs);
        return { param, slots: moments as SlotTensors };
      });
    },
  };
}
