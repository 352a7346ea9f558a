// What both optimizers share: a slot tensor's shape, fresh zero state, and the per-parameter update walk that keeps memory flat.
import { tf, type Tensor } from '../../engine/tf';
import type { Params } from '../../model/params';
import { slotKey, type OptimizerName, type OptimizerSlot, type OptimizerState, type SlotLayout } from './types';

/** Shape of a slot's tensor for a parameter of shape `param` (row/col factors drop one axis). */
export function slotShape(layout: SlotLayout, param: readonly number[]): number[] {
  switch (layout) {
    case 'like-param': return [...param];
    case 'row-factor': return param.slice(0, -1);
    case 'col-factor': return [...param.slice(0, -2), param[param.length - 1]];
  }
}

/** Every (key, shape) the state of `slots` holds for these parameter shapes, in a fixed order. */
export function stateLayout(slots: readonly OptimizerSlot[], shapes: Record<string, readonly number[]>):
  Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  for (const [param, shape] of Object.entries(shapes)) {
    for (const slot of slots) {
      if (slot.appliesTo([...shape])) out.push({ name: slotKey(slot.prefix, param), shape: slotShape(slot.layout, shape) });
    }
  }
  return out;
}

export function shapesOf(params: Params): Record<string, number[]> {
  return Object.fromEntries(Object.entries(params).map(([n, t]) => [n, t.shape]));
}

export function zeroState(name: OptimizerName, slots: readonly OptimizerSlot[], params: Params): OptimizerState {
  const tensors: Record<string, Tensor> = {};
  for (const { name: key, shape } of stateLayout(slots, shapesOf(params))) tensors[key] = tf.zeros(shape);
  return { name, step: 0, tensors };
}

/** One parameter's slot tensors, keyed by slot prefix. */
export type SlotTensors = Record<string, Tensor>;

/**
 * Applies `update` to each parameter in turn (inside tf.tidy) with its gradient, disposing the
 * parameter and slot tensors it replaces as it goes. `update` returns the new parameter and every
 * slot it had. (Scaling the gradient is the update's job: the fused kernels do it in their pass.)
 */
export function updateEach(
  slots: readonly OptimizerSlot[], params: Params, grads: Params, state: OptimizerState, step: number,
  update: (p: Tensor, g: Tensor, s: SlotTensors) => { param: Tensor; slots: SlotTensors },
): { params: Params; state: OptimizerState } {
  const newParams: Params = {};
  const tensors: Record<string, Tensor> = {};
  for (const [name, p] of Object.entries(params)) {
    const g = grads[name];
    if (!g) throw new Error(`optimizer: no gradient for parameter "${name}"`);
    const mine = slots.filter((s) => s.appliesTo(p.shape));
    const old: SlotTensors = {};
    for (const s of mine) {
      const t = state.tensors[slotKey(s.prefix, name)];
      if (!t) throw new Error(`optimizer: state has no "${slotKey(s.prefix, name)}"`);
      old[s.prefix] = t;
    }
    const out = tf.tidy(() => {
      const r = update(p, g, old);
      return [r.param, ...mine.map((s) => r.slots[s.prefix])];
    });
    newParams[name] = out[0];
    mine.forEach((s, i) => { tensors[slotKey(s.prefix, name)] = out[i + 1]; });
    p.dispose();
    for (const t of Object.values(old)) t.dispose();
  }
  return { params: newParams, state: { name: state.name, step, tensors } };
}
