// Transpose: a permutation that moves no element returns the input's storage (like Reshape);
// the rest is one native pass over the merged axes.
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { tf } from '../../tf';
import type { NativeBackend } from '../backend';
import { sizeOf, transposeLayout } from '../layout';
import { allFloat32, nativeKernel, need } from './kernel';

export function transpose(backend: NativeBackend, x: TensorInfo, perm: number[]): TensorInfo {
  const shape = perm.map((p) => x.shape[p]);
  const layout = transposeLayout(x.shape, perm);
  if (!layout || sizeOf(shape) === 0) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape, dtype: x.dtype };
  }
  const out = backend.alloc(sizeOf(shape));
  backend.addon.transpose(backend.f32(x), out, layout);
  return backend.output(shape, out);
}

export function transposeKernels(): KernelConfig[] {
  return [
    nativeKernel(tf.Transpose, ({ inputs, backend, attrs }) => {
      const x = need(inputs, 'x');
      return allFloat32(x) ? transpose(backend, x, attrs.perm as number[]) : null;
    }),
  ];
}
