// Softmax over the last axis in one native pass (tfjs's cpu kernel composes five ops).
import type { KernelConfig } from '@tensorflow/tfjs';
import { tf } from '../../tf';
import { sizeOf } from '../layout';
import { allFloat32, nativeKernel, need } from './kernel';

export function softmaxKernels(): KernelConfig[] {
  return [
    nativeKernel(tf.Softmax, ({ inputs, backend, attrs }) => {
      const logits = need(inputs, 'logits');
      const rank = logits.shape.length;
      const dim = Number(attrs.dim);
      if (!allFloat32(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
      const cols = logits.shape[rank - 1];
      const out = backend.alloc(sizeOf(logits.shape));
      if (out.length > 0) backend.addon.softmax(backend.f32(logits), out, out.length / cols, cols);
      return backend.output(logits.shape, out);
    }),
  ];
}
