// Replica tracking (docs/dynamics.md, "Replicas"): how the parts of a fused model that came from
// each source evolve. Per tensor, from the fusion plan's blocks:
//   distance       ‖Bᵢ − Bⱼ‖ / rms(‖Bᵢ‖, ‖Bⱼ‖), source blocks in the source's units (fusion's scale
//                  undone); 0 for exact replicas, the noise level right after a paired self-fusion
//   grad_cos       cosine between the gradients of the two blocks (1: the replicas are pushed alike)
//   off_diagonal   ‖off-diagonal blocks‖ / ‖tensor‖ of block-diagonal weights: 0 right after a
//                  grouped fusion, growing as the parts start to read each other's features
// and for the whole model the mean of each over its tensors, plus grad_difference, the relative
// difference of the replicas' whole gradients (0 when they are equal). With k > 2 sources every
// pair counts; sources of different widths have no distance (their blocks differ in shape).
// One pass over the parameters and the gradient, no model evaluation: cheap enough to log while
// training (StepProbe).
import type { FusionPlan, TensorPlan } from '../fusion/plan';
import { fusionPlanOf } from '../fusion/record';
import type { Params } from '../model/params';
import type { StepProbe } from '../training/loop';
import { isBlockDiagonal, offDiagonalBlocks, sourceBlock, type BlockView } from './blocks';

/** [distance, grad_cos, off_diagonal] of one tensor; null where it does not apply. */
export type TensorReplicaStats = [number | null, number | null, number | null];

export interface ReplicaStats {
  /** Means over the tensors that have one. */
  distance: number | null;
  grad_cos: number | null;
  /** ‖gᵢ − gⱼ‖ / rms(‖gᵢ‖, ‖gⱼ‖) over the model: 0 when the replicas get the same gradient (self-fusion without noise). */
  grad_difference: number | null;
  off_diagonal: number | null;
  tensors: Record<string, TensorReplicaStats>;
}

/** The record type replica tracking logs in metrics.jsonl. */
export const REPLICAS_RECORD = 'replicas';

interface PairSums { aa: number; bb: number; dd: number; ab: number }

/** Sums over two same-shaped blocks: Σa², Σb², Σ(a − b)², Σab, each block multiplied by its factor. */
function pairSums(data: ArrayLike<number>, a: BlockView, fa: number, b: BlockView, fb: number): PairSums {
  const s: PairSums = { aa: 0, bb: 0, dd: 0, ab: 0 };
  for (let r = 0; r < a.rows; r++) {
    const ra = (a.row0 + r) * a.stride + a.col0;
    const rb = (b.row0 + r) * b.stride + b.col0;
    for (let c = 0; c < a.cols; c++) {
      const x = data[ra + c] * fa;
      const y = data[rb + c] * fb;
      s.aa += x * x;
      s.bb += y * y;
      s.dd += (x - y) ** 2;
      s.ab += x * y;
    }
  }
  return s;
}

function squares(data: ArrayLike<number>, b: BlockView): number {
  let s = 0;
  for (let r = 0; r < b.rows; r++) {
    const from = (b.row0 + r) * b.stride + b.col0;
    for (let c = 0; c < b.cols; c++) s += data[from + c] ** 2;
  }
  return s;
}

function totalSquares(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i] ** 2;
  return s;
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : num === 0 ? 0 : null);

/** Pairs (i, j), i < j, of sources whose blocks of `t` have the same shape. */
function comparablePairs(t: TensorPlan): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < t.parts.length; i++) {
    for (let j = i + 1; j < t.parts.length; j++) if (t.parts[i].shape.join() === t.parts[j].shape.join()) pairs.push([i, j]);
  }
  return pairs;
}

/** The replica distance of one tensor (null when no two sources' blocks have the same shape). */
export function tensorReplicaDistance(t: TensorPlan, data: ArrayLike<number>): number | null {
  const pairs = comparablePairs(t);
  if (pairs.length === 0) return null;
  let dd = 0;
  let mean = 0;
  for (const [i, j] of pairs) {
    const a = sourceBlock(t, i);
    const b = sourceBlock(t, j);
    const s = pairSums(data, a, 1 / a.scale, b, 1 / b.scale);
    dd += s.dd;
    mean += (s.aa + s.bb) / 2;
  }
  return ratio(Math.sqrt(dd), Math.sqrt(mean));
}

/**
 * Replica statistics of a fused model's parameters (and, given, their gradient), each tensor's
 * values as a row-major array by name.
 */
export function replicaStats(plan: FusionPlan, params: Record<string, ArrayLike<number>>,
  grads?: Record<string, ArrayLike<number>>): ReplicaStats {
  const tot = { gaa: 0, gbb: 0, gdd: 0 };
  const tensors: Record<string, TensorReplicaStats> = {};
  for (const t of plan.tensors) {
    const p = params[t.name];
    if (!p) throw new Error(`replica statistics: no tensor "${t.name}"`);
    const pairs = comparablePairs(t);
    let cos = 0;
    if (grads) {
      for (const [i, j] of pairs) {
        const a = sourceBlock(t, i);
        const b = sourceBlock(t, j);
        // A gradient with respect to a block scaled by s is 1/s times the source's: multiply back.
        const g = pairSums(grads[t.name], a, a.scale, b, b.scale);
        cos += g.aa > 0 && g.bb > 0 ? g.ab / Math.sqrt(g.aa * g.bb) : 0;
        tot.gaa += g.aa;
        tot.gbb += g.bb;
        tot.gdd += g.dd;
      }
    }
    let off: number | null = null;
    if (isBlockDiagonal(t)) {
      const offSquares = offDiagonalBlocks(t).reduce((sum, b) => sum + squares(p, b), 0);
      off = ratio(Math.sqrt(offSquares), Math.sqrt(totalSquares(p)));
    }
    tensors[t.name] = [
      tensorReplicaDistance(t, p),
      pairs.length && grads ? cos / pairs.length : null,
      off,
    ];
  }
  const anyPair = Object.values(tensors).some((x) => x[0] !== null);
  return modelStats(tensors, anyPair && grads ? ratio(Math.sqrt(tot.gdd), Math.sqrt((tot.gaa + tot.gbb) / 2)) : null);
}

/**
 * The model's statistics from its tensors': means over the tensors, so that the embedding (by far
 * the largest tensor, untouched by paired noise) does not stand for the whole model.
 */
export function modelStats(tensors: Record<string, TensorReplicaStats>, gradDifference: number | null): ReplicaStats {
  const meanOf = (k: number): number | null => {
    const v = Object.values(tensors).map((x) => x[k]).filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  return { distance: meanOf(0), grad_cos: meanOf(1), grad_difference: gradDifference, off_diagonal: meanOf(2), tensors };
}

const arraysOf = (tensors: Params): Record<string, ArrayLike<number>> =>
  Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, t.dataSync() as Float32Array]));

/** Replica statistics of tensors (parameters and gradients as a training step holds them). */
export function replicaStatsOf(plan: FusionPlan, params: Params, grads?: Params): ReplicaStats {
  return replicaStats(plan, arraysOf(params), grads && arraysOf(grads));
}

/** The training-loop probe that logs replica statistics (`track_replicas_every`). */
export function replicaProbe(plan: FusionPlan): StepProbe {
  return {
    type: REPLICAS_RECORD,
    measure: (_step, params, grads) => ({ ...replicaStatsOf(plan, params, grads) }),
  };
}

/**
 * The replica probe of a run that trains on the model in `from` (its fusion record says the
 * blocks); undefined when tracking is off (`every` 0) or the model was not made by fusion.
 */
export function replicaProbeFor(from: string | undefined, every: number): StepProbe | undefined {
  if (every <= 0 || from === undefined) return undefined;
  const plan = fusionPlanOf(from);
  return plan && replicaProbe(plan);
}

/** A tensor's layer (null for tensors outside the blocks) and kind, e.g. "encoder ffn wi_0". */
export function describeTensor(name: string): { layer: number | null; kind: string } {
  if (name === 'shared.weight') return { layer: null, kind: 'embedding' };
  if (name === 'lm_head.weight') return { layer: null, kind: 'output layer' };
  const m = /^(encoder|decoder)\.(?:block\.(\d+)\.layer\.(\d+)\.)?(.*)\.weight$/.exec(name);
  if (!m) return { layer: null, kind: name };
  const [, stack, layer, sub, rest] = m;
  if (layer === undefined) return { layer: null, kind: `${stack} final norm` };
  const part = rest.replace('SelfAttention.relative_attention_bias', 'relative bias').replace('SelfAttention.', 'self-attn ')
    .replace('EncDecAttention.', 'cross-attn ').replace('DenseReluDense.', 'ffn ').replace('layer_norm', `norm ${sub}`);
  return { layer: Number(layer), kind: `${stack} ${part}` };
}

/** Mean of each statistic over the layers of each tensor kind (null entries left out). */
export function statsByKind(tensors: Record<string, TensorReplicaStats>): Record<string, TensorReplicaStats> {
  const groups = new Map<string, TensorReplicaStats[]>();
  for (const [name, s] of Object.entries(tensors)) {
    const { kind } = describeTensor(name);
    groups.set(kind, [...(groups.get(kind) ?? []), s]);
  }
  const mean = (xs: Array<number | null>): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  return Object.fromEntries([...groups].map(([k, list]) => [k, [0, 1, 2].map((i) => mean(list.map((s) => s[i]))) as TensorReplicaStats]));
}
