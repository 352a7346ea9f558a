// The contract between optimizers (training), optimizer-state transfer at fusion time (fusion)
// and checkpoints. An optimizer's state is a named map of tensors, one per (slot, parameter):
// key `${slot.prefix}.${paramName}`. Each slot says how its tensor relates to the parameter, so
// fusion can place it block by block without knowing the optimizer (docs/fusion.md, "Optimizer state at fusion").
import type { Tensor } from '../../engine/tf';
import type { Params } from '../../model/params';

export type SlotLayout =
  /** Same shape as the parameter (Adam's m and v, Adafactor's unfactored v and its m). */
  | 'like-param'
  /** Parameter [R, C] → [R]: statistic averaged over the last axis (Adafactor's row factor). */
  | 'row-factor'
  /** Parameter [R, C] → [C]: statistic averaged over the first axis (Adafactor's column factor). */
  | 'col-factor';

export interface OptimizerSlot {
  prefix: string;
  layout: SlotLayout;
  /** 1 for first moments (scale by w at fusion), 2 for second moments (scale by w²). */
  order: 1 | 2;
  /** Whether a parameter of this shape has the slot (Adafactor factors only rank ≥ 2). */
  appliesTo(shape: number[]): boolean;
}

export type OptimizerName = 'adamw' | 'adafactor' | 'sgd';

export interface OptimizerState {
  name: OptimizerName;
  /** Number of updates applied so far (bias correction, Adafactor's decay and relative step). */
  step: number;
  /** Keyed `${slot.prefix}.${paramName}`. */
  tensors: Record<string, Tensor>;
}

/** Where a slot's tensor lives in `OptimizerState.tensors` and in optimizer.safetensors. */
export function slotKey(prefix: string, paramName: string): string {
  return `${prefix}.${paramName}`;
}

/** What identifies an optimizer state besides its tensors (optimizer.json). */
export interface OptimizerMeta {
  name: string;
  step: number;
  /** The optimizer's hyperparameters; they decide which slots exist (Adafactor's `m` only with beta1 > 0). */
  hyperparameters?: Record<string, unknown>;
}

/** Files of a checkpoint directory that hold optimizer state. */
export const OPTIMIZER_TENSORS_FILE = 'optimizer.safetensors';
/** {name, step, hyperparameters}. */
export const OPTIMIZER_META_FILE = 'optimizer.json';

export interface UpdateOptions {
  /** Learning rate of this update (from the schedule). */
  lr: number;
  /** Factor applied to every gradient first (global-norm clipping); default 1. */
  gradScale?: number;
}

export interface Optimizer {
  readonly name: OptimizerName;
  readonly slots: readonly OptimizerSlot[];
  /** The hyperparameters, as `optimizer.json` records them. */
  readonly hyperparameters: Readonly<Record<string, number | boolean>>;
  /** Fresh (zero) state for these parameters. */
  init(params: Params): OptimizerState;
  /**
   * One update. Takes ownership of `params` and of `state`'s tensors (it disposes those it
   * replaces, so peak memory stays one parameter's worth above the model); `grads` stay the
   * caller's.
   */
  apply(params: Params, grads: Params, state: OptimizerState, opts: UpdateOptions): { params: Params; state: OptimizerState };
}
