// Builds a fused tensor from its plan over plain typed arrays, reading one source tensor at a time
// so that streaming from files needs only the fused tensor and one source tensor in memory.
import type { Part, TensorPlan } from './plan';

/** Reads the source tensor of a part (`part.source`'s `part.name`, of `part.shape`) as float32. */
export type ReadTensor = (part: Part) => Float32Array;

/** Row-major rank-2 view of a rank-1 or rank-2 shape. */
function asMatrix(shape: readonly number[]): [number, number] {
  if (shape.length === 1) return [1, shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  throw new Error(`fusion: tensors of rank ${shape.length} are not supported (shape [${shape}])`);
}

/** `out[offset + idx] += scale · block[idx]` for a block inside a tensor of the same rank. */
export function addBlock(out: Float32Array, outShape: readonly number[], block: ArrayLike<number>,
  blockShape: readonly number[], offset: readonly number[], scale: number): void {
  const [, cols] = asMatrix(outShape);
  const [rows, width] = asMatrix(blockShape);
  const [r0, c0] = offset.length === 1 ? [0, offset[0]] : offset;
  for (let r = 0; r < rows; r++) {
    const to = (r0 + r) * cols + c0;
    const from = r * width;
    for (let c = 0; c < width; c++) out[to + c] += scale * block[from + c];
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The fused tensor: zeros, then every part added at its offset. Parameter parts never overlap;
 * parts of an optimizer factor along a shared axis do, and add up to their weighted mean.
 */
export function buildTensor(plan: TensorPlan, read: ReadTensor): Float32Array {
  const out = new Float32Array(sizeOf(plan.shape));
  for (const part of plan.parts) {
    const data = read(part);
    if (data.length !== sizeOf(part.shape)) {
      throw new Error(`fusion: source ${part.source + 1} tensor "${part.name}" has ${data.length} values, ` +
        `expected [${part.shape}]`);
    }
    addBlock(out, plan.shape, data, part.shape, part.offset, part.scale);
  }
  return out;
}
