// GatherV2 (embedding lookup) and UnsortedSegmentSum (its gradient). tfjs's cpu
// UnsortedSegmentSum makes one full pass over the data per segment, i.e. per vocabulary entry.
import type { KernelConfig } from '@tensorflow/tfjs';
import { tf } from '../../tf';
import { sizeOf } from '../layout';
import { nativeKernel, need } from './kernel';

export function gatherKernels(): KernelConfig[] {
  return [
    nativeKernel(tf.GatherV2, ({ inputs, backend, attrs }) => {
      const x = need(inputs, 'x');
      const indices = need(inputs, 'indices');
      if (x.dtype !== 'float32' || indices.dtype !== 'int32' || Number(attrs.batchDims ?? 0) !== 0) return null;
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
      const out = backend.alloc(sizeOf(shape));
      const axisDim = x.shape[axis];
      const ids = backend.i32(indices);
      for (const index of ids) {
        if (index < 0 || index >= axisDim) throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
      }
      backend.addon.gather(backend.f32(x), ids, out, sizeOf(x.shape.slice(0, axis)), axisDim, sizeOf(x.shape.slice(axis + 1)));
      return backend.output(shape, out);
    }),
    nativeKernel(tf.UnsortedSegmentSum, ({ inputs, backend, attrs }) => {
      const x = need(inputs, 'x');
      const ids = need(inputs, 'segmentIds');
      if (x.dtype !== 'float32' || ids.dtype !== 'int32') return null;
      const numSegments = Number(attrs.numSegments);
      const rest = x.shape.slice(ids.shape.length);
      const shape = [numSegments, ...rest];
      const out = backend.alloc(sizeOf(shape));
      if (out.length > 0) backend.addon.segmentSum(backend.f32(x), backend.i32(ids), out, sizeOf(rest), numSegments);
      return backend.output(shape, out);
    }),
  ];
}
