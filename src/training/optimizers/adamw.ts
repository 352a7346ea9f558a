// AdamW (Loshchilov & Hutter): Adam with bias correction and weight decay decoupled from the
// gradient, as PyTorch's torch.optim.AdamW computes it. The arithmetic is the engine's fused
// kernel (one pass per parameter instead of a dozen elementwise ops).
import { adamwUpdate } from '../../engine/fused';
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
      const step = state.step + 1;
      const attrs = { learningRate: lr, beta1, beta2, epsilon: eps, weightDecay: wd, step, gradScale };
      return updateEach(ADAMW_SLOTS, params, grads, state, step, (p, g, s) => {
        const r = adamwUpdate(p, g, s.m, s.v, attrs);
        return { param: r.param, slots: { m: r.m, v: r.v } };
      });
    },
  };
}
