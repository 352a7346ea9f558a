// Sum, Mean, Max, Min, Prod over any axes, float32. Reduced axes that are not adjacent are
// first transposed to the end (as tfjs's cpu kernels do).
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { tf } from '../../tf';
import type { NativeAddon } from '../addon';
import type { NativeBackend } from '../backend';
import { reduceLayout, sizeOf } from '../layout';
import { allFloat32, nativeKernel, need, opCode } from './kernel';
import { transpose } from './transpose';

/** tfjs kernel name → [addon op, name of the axis attribute]. */
const REDUCTIONS: Record<string, [string, string]> = {
  Sum: ['sum', 'axis'], Mean: ['mean', 'axis'], Prod: ['prod', 'axis'], Min: ['min', 'axis'],
  Max: ['max', 'reductionIndices'],
};

function reduce(backend: NativeBackend, code: number, x: TensorInfo, axisAttr: unknown, keepDims: boolean): TensorInfo | null {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape).sort((p, q) => p - q);
  if (new Set(axes).size !== axes.length) return null;
  const layout = reduceLayout(x.shape, axes);
  if (layout.n === 0) return null;
  const kept = x.shape.filter((_, i) => !axes.includes(i));
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
  const out = backend.alloc(sizeOf(shape));
  if (out.length > 0) {
    const source = layout.perm ? transpose(backend, x, layout.perm) : x;
    backend.addon.reduce(code, backend.f32(source), out, layout.outer, layout.n, layout.inner);
    if (source !== x) backend.disposeIntermediateTensorInfo(source);
  }
  return backend.output(shape, out);
}

export function reduceKernels(addon: NativeAddon): KernelConfig[] {
  return Object.entries(REDUCTIONS).map(([name, [op, axisAttr]]) => {
    const code = opCode(addon.reduceOps(), op);
    return nativeKernel(name, ({ inputs, backend, attrs }) => {
      const x = need(inputs, 'x');
      return allFloat32(x) ? reduce(backend, code, x, attrs[axisAttr], Boolean(attrs.keepDims)) : null;
    });
  });
}
