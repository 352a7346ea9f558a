// Plain stochastic gradient descent, θ ← θ − lr·g: the method the backward-error analysis of
// growth dynamics is stated for (docs/dynamics.md). It keeps no state, so its updates are exactly
// the steps h·∇L whose modified loss L + (h/4)‖∇L‖² the analyses measure.
import { tf } from '../../engine/tf';
import type { Params } from '../../model/params';
import { updateEach, zeroState } from './slots';
import type { Optimizer, OptimizerSlot, OptimizerState, UpdateOptions } from './types';

export interface SgdSpec {
  name: 'sgd';
}

export const SGD_DEFAULTS: SgdSpec = { name: 'sgd' };

const SGD_SLOTS: readonly OptimizerSlot[] = [];

export function sgd(_spec: SgdSpec): Optimizer {
  return {
    name: 'sgd',
    slots: SGD_SLOTS,
    hyperparameters: {},
    init: (params: Params): OptimizerState => zeroState('sgd', SGD_SLOTS, params),
    apply(params, grads, state, { lr, gradScale = 1 }: UpdateOptions) {
      const step = lr * gradScale;
      return updateEach(SGD_SLOTS, params, grads, state, state.step + 1, (p, g) => ({ param: tf.sub(p, tf.mul(g, step)), slots: {} }));
    },
  };
}
