// Optimizer state at fusion time (docs/fusion.md, "Optimizer state at fusion"): `reset` starts fresh; `carry`
// places each source's moments like its parameters, generic over the optimizer's slots.
//
// Scaling. Under output averaging, the fused loss's gradient with respect to part i of a
// parameter is (w_i / c_i)·g_i, where g_i is source i's gradient and c_i the factor fusion
// multiplied that part by. For almost every tensor c_i = 1, which is the rule of docs/fusion.md, "Scaling": first
// moments × w_i, second moments × w_i². Two tensors carry the output weights in their values, so
// their gradients are not scaled by w_i: the untied output layer (c_i = w_i: moments unscaled) and,
// with tied embeddings, the decoder's final norm (c_i = w_i·sqrt(d/d_i): gradient sqrt(d_i/d)·g_i).
// The shared embedding of a tied model has c_i = 1: both of its uses (input lookup and output
// layer) see a w_i-scaled gradient. For self-fusion these relations are exact (tests check them
// against the fused model's gradients); for different sources they hold to the extent the sources agree.
//
// Layouts. `like-param` slots are placed exactly like the parameter (block-diagonal weights get
// zeros off the diagonal). Adafactor's factored statistics of a [R, C] weight are per row ([R],
// mean of g² over columns) and per column ([C]). A factor whose kept axis is split between the
// sources (both factors of block-diagonal weights, the column factor of embedding / output layer /
// relative bias) is concatenated along it, each part × its moment scale; for block-diagonal
// weights the off-diagonal gradients, which the factors cannot represent as zeros, are about as
// large as the diagonal ones, so no width fraction is applied. A factor whose kept axis is shared
// (the row factor [V] of embedding and output layer, [buckets] of the relative bias) is the mean
// over a row that is the concatenation of the sources' rows, so it becomes the sources' factors
// weighted by their share of the reduced axis: Σ_i (C_i/C)·scale_i·f_i — the exact statistic of
// the fused gradient under output averaging.
import { UserError } from '../errors';
import { tf } from '../engine/tf';
import { slotKey, type OptimizerMeta, type OptimizerSlot, type OptimizerState } from '../training/optimizers/types';
import { buildTensor, type ReadTensor } from './place';
import type { FusionPlan, Part, TensorPlan } from './plan';

/** `reset`: fresh state (the trainer initialises it). `carry`: the sources' moments, placed. */
export type OptimizerStateMode = 'reset' | 'carry';

export type { OptimizerMeta };

function slotPlan(t: TensorPlan, slot: OptimizerSlot, weights: readonly number[]): TensorPlan {
  const parts = t.parts.map((p): Part => ({
    ...p, name: slotKey(slot.prefix, p.name), scale: (weights[p.source] / p.scale) ** slot.order,
  }));
  const name = slotKey(slot.prefix, t.name);
  if (slot.layout === 'like-param') return { name, shape: t.shape, split: t.split, parts };
  if (t.shape.length !== 2) {
    throw new Error(`optimizer slot "${slot.prefix}" is a ${slot.layout} but "${t.name}" has rank ${t.shape.length}`);
  }
  const keep = slot.layout === 'row-factor' ? 0 : 1;
  const reduced = 1 - keep;
  const reducedTotal = parts.reduce((n, p) => n + p.shape[reduced], 0);
  return {
    name,
    shape: [t.shape[keep]],
    split: [t.split[keep]],
    parts: parts.map((p) => ({
      ...p,
      shape: [p.shape[keep]],
      offset: [p.offset[keep]],
      scale: t.split[keep] ? p.scale : p.scale * (p.shape[reduced] / reducedTotal),
    })),
  };
}

/** The fused optimizer-state tensors, parameter by parameter in canonical order, slot by slot. */
export function slotPlans(plan: FusionPlan, slots: readonly OptimizerSlot[]): TensorPlan[] {
  return plan.tensors.flatMap((t) => slots.filter((slot) => {
    const applies = slot.appliesTo(t.shape);
    if (t.parts.some((p) => slot.appliesTo(p.shape) !== applies)) {
      throw new UserError(`optimizer slot "${slot.prefix}" applies to "${t.name}" in some sources but not in the ` +
        'fused model, so its state cannot be carried. Fix: use --optimizer-state reset');
    }
    return applies;
  }).map((slot) => slotPlan(t, slot, plan.weights)));
}

const canonicalJson = (o: Record<string, unknown>): string => JSON.stringify(o, Object.keys(o).sort());

/**
 * The optimizer and step of the carried state. Sources must use the same optimizer with the same
 * hyperparameters; the step is the largest source step (bias corrections then treat every moment
 * as at least that old).
 */
export function carriedMeta(metas: readonly OptimizerMeta[], labels: readonly string[]): OptimizerMeta {
  const [first] = metas;
  metas.forEach((m, i) => {
    if (m.name !== first.name) {
      throw new UserError(`${labels[i]}: optimizer "${m.name}" differs from "${first.name}" of ${labels[0]}. ` +
        'Fix: carry state only between sources trained with the same optimizer, or use --optimizer-state reset');
    }
    const a = canonicalJson(first.hyperparameters ?? {});
    const b = canonicalJson(m.hyperparameters ?? {});
    if (a !== b) {
      throw new UserError(`${labels[i]}: optimizer hyperparameters ${b} differ from ${a} of ${labels[0]}. ` +
        'Fix: carry state only between sources trained with the same optimizer settings, or use --optimizer-state reset');
    }
  });
  const step = Math.max(...metas.map((m) => m.step));
  return { ...first, step };
}

/** In-memory `carry`: the sources' states (one per plan source) placed into the fused model's state. */
export function carryOptimizerState(plan: FusionPlan, slots: readonly OptimizerSlot[],
  states: readonly OptimizerState[], labels: readonly string[] = states.map((_, i) => `source ${i + 1}`)): OptimizerState {
  const meta = carriedMeta(states, labels);
  const read: ReadTensor = ({ source, name }) => {
    const t = states[source].tensors[name];
    if (!t) throw new UserError(`${labels[source]}: optimizer state has no tensor "${name}". Fix: use --optimizer-state reset`);
    return t.dataSync() as Float32Array;
  };
  const tensors: Record<string, tf.Tensor> = {};
  for (const t of slotPlans(plan, slots)) tensors[t.name] = tf.tensor(buildTensor(t, read), t.shape, 'float32');
  return { name: states[0].name, step: meta.step, tensors };
}
