// Which entries of a fused model's tensors came from which source, read from the fusion plan
// (src/fusion/plan.ts): source i's part of a tensor is its block at the part's offset; a
// block-diagonal weight also has off-diagonal blocks (source i's outputs from source j's inputs),
// zero right after fusion, that belong to no source.
import type { FusionPlan, TensorPlan } from '../fusion/plan';
import type { ParamLayout } from './vectors';

/** A rectangle of a row-major tensor (rank 1 is one row). */
export interface BlockView {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  /** Columns of the whole tensor. */
  stride: number;
  /** What fusion multiplied the source's values by (the output layer's weight wᵢ, …); 1 for off-diagonal blocks. */
  scale: number;
}

const matrixShape = (shape: readonly number[]): [number, number] => (shape.length === 1 ? [1, shape[0]] : [shape[0], shape[1]]);

/** Source `i`'s block of a fused tensor. */
export function sourceBlock(t: TensorPlan, i: number): BlockView {
  const part = t.parts[i];
  const [rows, cols] = matrixShape(part.shape);
  const [, stride] = matrixShape(t.shape);
  const [row0, col0] = part.offset.length === 1 ? [0, part.offset[0]] : [part.offset[0], part.offset[1]];
  return { row0, col0, rows, cols, stride, scale: part.scale };
}

/** Whether the tensor is block-diagonal (both axes split between the sources). */
export function isBlockDiagonal(t: TensorPlan): boolean {
  return t.split.length === 2 && t.split.every(Boolean);
}

/** Block (i, j), i ≠ j, of a block-diagonal tensor: source i's rows, source j's columns. */
export function offDiagonalBlock(t: TensorPlan, i: number, j: number): BlockView {
  const a = sourceBlock(t, i);
  const b = sourceBlock(t, j);
  return { row0: a.row0, col0: b.col0, rows: a.rows, cols: b.cols, stride: a.stride, scale: 1 };
}

/** Every off-diagonal block of a tensor (none unless it is block-diagonal). */
export function offDiagonalBlocks(t: TensorPlan): BlockView[] {
  if (!isBlockDiagonal(t)) return [];
  const k = t.parts.length;
  const out: BlockView[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (i !== j) out.push(offDiagonalBlock(t, i, j));
  return out;
}

/** The block's values divided by its scale (a source's values as the source held them), row-major. */
export function readBlock(data: ArrayLike<number>, b: BlockView, offset = 0): Float64Array {
  const out = new Float64Array(b.rows * b.cols);
  for (let r = 0; r < b.rows; r++) {
    const from = offset + (b.row0 + r) * b.stride + b.col0;
    for (let c = 0; c < b.cols; c++) out[r * b.cols + c] = data[from + c] / b.scale;
  }
  return out;
}

/** Σ x² over the block (as stored, not unscaled). */
export function blockSquares(data: ArrayLike<number>, b: BlockView, offset = 0): number {
  let s = 0;
  for (let r = 0; r < b.rows; r++) {
    const from = offset + (b.row0 + r) * b.stride + b.col0;
    for (let c = 0; c < b.cols; c++) s += data[from + c] ** 2;
  }
  return s;
}

/**
 * Per entry of a flat parameter vector: i + 1 when it belongs to source i's block, 0 when it is in
 * an off-diagonal block. Parameters the plan does not list are an error (the plan is the model's).
 */
export function ownerMap(plan: FusionPlan, layout: ParamLayout): Uint8Array {
  if (plan.sources.length > 255) throw new Error('ownerMap: at most 255 sources');
  const owner = new Uint8Array(layout.size);
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  layout.names.forEach((name, n) => {
    const t = byName.get(name);
    if (!t) throw new Error(`ownerMap: the fusion plan has no tensor "${name}"`);
    t.parts.forEach((_, i) => {
      const b = sourceBlock(t, i);
      for (let r = 0; r < b.rows; r++) {
        const from = layout.offsets[n] + (b.row0 + r) * b.stride + b.col0;
        owner.fill(i + 1, from, from + b.cols);
      }
    });
  });
  return owner;
}

/** v restricted to source i's entries (zeros elsewhere). */
export function restrict(v: Float64Array, owner: Uint8Array, i: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let j = 0; j < v.length; j++) if (owner[j] === i + 1) out[j] = v[j];
  return out;
}

/** Whether two sources' blocks have the same shapes in every tensor, so they can be compared entry by entry. */
export function sameShapes(plan: FusionPlan, i: number, j: number): boolean {
  return plan.tensors.every((t) => t.parts[i].shape.join() === t.parts[j].shape.join());
}
