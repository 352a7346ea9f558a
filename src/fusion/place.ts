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

/**
 * `out[offset + idx] += scale · block[idx]` for a block inside a tensor of the same rank; with
 * `assign`, `=` instead of `+=` (for a region known to be zero, several times faster).
 */
export function addBlock(out: Float32Array, outShape: readonly number[], block: Float32Array,
  blockShape: readonly number[], offset: readonly number[], scale: number, assign = false): void {
  const [, cols] = asMatrix(outShape);
  const [rows, width] = asMatrix(blockShape);
  const [r0, c0] = offset.length === 1 ? [0, offset[0]] : offset;
  for (let r = 0; r < rows; r++) {
    const to = (r0 + r) * cols + c0;
    const from = r * width;
    if (assign && scale === 1) out.set(block.subarray(from, from + width), to);
    else if (assign) for (let c = 0; c < width; c++) out[to + c] = scale * block[from + c];
    else for (let c = 0; c < width; c++) out[to + c] += scale * block[from + c];
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The fused tensor: zeros, then every part added at its offset. Parts are disjoint when some axis
 * is split (every parameter); parts of an optimizer factor along a shared axis overlap and add up
 * to their weighted mean.
 */
export function buildTensor(plan: TensorPlan, read: ReadTensor): Float32Array {
  const out = new Float32Array(sizeOf(plan.shape));
  const disjoint = plan.split.some(Boolean);
  for (const part of plan.parts) {
    const data = read(part);
    if (data.length !== sizeOf(part.shape)) {
      throw new Error(`fusion: source ${part.source + 1} tensor "${part.name}" has ${data.length} values, ` +
        `expected [${part.shape}]`);
    }
    addBlock(out, plan.shape, data, part.shape, part.offset, part.scale, disjoint);
  }
  return out;
}
