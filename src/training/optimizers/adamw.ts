// AdamW (Loshchilov & Hutter): Adam with bias correction and weight decay decoupled from the
// gradient, as PyTorch's torch.optim.AdamW computes it.
import { tf } from '../../engine/tf';
import type { Params } from '../../model/params';
import { updateEach, zeroState } from './slots';
import type { Optimizer, OptimizerSlot, OptimizerState, UpdateOptions } from './types';

export interface AdamWSpec {
  name: 'adamw';
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

export const ADAMW_DEFAULTS: AdamWSpec = { name: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 };

/** Slots `m` (first moment) and `v` (second moment), both shaped like the parameter. */
export const ADAMW_SLOTS: readonly OptimizerSlot[] = [
  { prefix: 'm', layout: 'like-param', order: 1, appliesTo: () => true },
  { prefix: 'v', layout: 'like-param', order: 2, appliesTo: () => true },
];

export function adamw(spec: AdamWSpec): Optimizer {
  const { beta1, beta2, eps, weight_decay: wd } = spec;
  const { name: _n, ...hyperparameters } = spec;
  return {
    name: 'adamw',
    slots: ADAMW_SLOTS,
    hyperparameters,
    init: (params: Params): OptimizerState => zeroState('adamw', ADAMW_SLOTS, params),
    apply(params, grads, state, { lr, gradScale = 1 }: UpdateOptions) {
      const t = state.step + 1;
      // p ← p·(1 − lr·wd) − (lr / c1) · m / (sqrt(v / c2) + eps), with c_i = 1 − β_i^t.
      const stepSize = lr / (1 - beta1 ** t);
      const sqrtC2 = Math.sqrt(1 - beta2 ** t);
      return updateEach(ADAMW_SLOTS, params, grads, state, { step: t, gradScale }, (p, g, s) => {
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtC2), eps);
        const decayed = wd === 0 ? p : tf.mul(p, 1 - lr * wd);
        return { param: tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)), slots: { m, v } };
      });
    },
  };
}
