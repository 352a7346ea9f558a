// The gradient field of a loss on one fixed batch, θ ↦ ∇L(θ), as the dynamics analyses see it:
// positions are θ₀ + δ with δ in float64, gradients come back in float64. Dropout is off, so the
// field is a deterministic function of θ (the native kernels give the same bits every time).
import type { T5Config } from '../model/config';
import type { Params } from '../model/params';
import { disposeParams } from '../model/params';
import { lossAndGrads, type Seq2SeqBatch } from '../model/t5';
import { flatten, layoutOf, toParams, type ParamLayout } from './vectors';

export interface GradientField {
  layout: ParamLayout;
  /** The point the analysis starts from. */
  theta0: Float64Array;
  /** Loss and gradient at θ₀ + δ. */
  at(delta: Float64Array): { loss: number; grad: Float64Array };
  /** Gradient evaluations so far (the unit of cost of every analysis). */
  readonly evaluations: number;
}

/** A field from a function of the position θ (tests use exact cases such as quadratics). */
export function fieldOf(layout: ParamLayout, theta0: Float64Array,
  f: (theta: Float64Array) => { loss: number; grad: Float64Array }): GradientField {
  let evaluations = 0;
  return {
    layout, theta0,
    at(delta) {
      evaluations++;
      const theta = new Float64Array(theta0.length);
      for (let i = 0; i < theta.length; i++) theta[i] = theta0[i] + delta[i];
      return f(theta);
    },
    get evaluations() { return evaluations; },
  };
}

/** The T5 training loss on `batch` (mean cross-entropy over its labels), in float32, at θ₀ + δ. */
export function lossField(config: T5Config, params: Params, batch: Seq2SeqBatch): GradientField {
  const layout = layoutOf(params);
  const theta0 = flatten(layout, params);
  let evaluations = 0;
  return {
    layout, theta0,
    at(delta) {
      evaluations++;
      const p = toParams(layout, theta0, delta);
      try {
        const r = lossAndGrads(config, p, batch);
        try {
          return { loss: r.loss.dataSync()[0], grad: flatten(layout, r.grads) };
        } finally {
          r.loss.dispose();
          disposeParams(r.grads);
        }
      } finally {
        disposeParams(p);
      }
    },
    get evaluations() { return evaluations; },
  };
}
