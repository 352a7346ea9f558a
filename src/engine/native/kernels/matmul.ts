// BatchMatMul and _FusedMatMul (matmul + bias + activation). Transposes are GEMM flags, never
// materialised; batch dimensions broadcast the way tfjs's cpu kernel does (index i % batch).
// Products take the scope's precision (src/engine/precision.ts).
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { productPrecision } from '../../product_precision';
import { tf } from '../../tf';
import type { NativeAddon } from '../addon';
import type { NativeBackend } from '../backend';
import { broadcastShapes, sizeOf } from '../layout';
import { binaryOp, unaryOp } from './elementwise';
import { allFloat32, nativeKernel, need, opCode, type NativeArgs } from './kernel';

/** op(a) · op(b) over the trailing two axes, or null when the shapes do not multiply. */
export function batchMatMul(backend: NativeBackend, a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean):
  TensorInfo | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outer = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (k !== kb || !outer) return null;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const out = backend.alloc(batch * m * n);
  if (out.length > 0) {
    const bf16 = productPrecision() === 'bf16';
    // An operand stored in bf16 goes in as it is where the kernel reads it so (bf16 products; B not
    // transposed); elsewhere it is widened back to float32.
    const operand = (t: TensorInfo, readable: boolean): [Float32Array, null] | [null, Uint16Array] => {
      const v = bf16 && readable ? backend.f32OrBf16(t) : backend.f32(t);
      return v instanceof Uint16Array ? [null, v] : [v, null];
    };
    const [aF, aH] = operand(a, true);
    const [bF, bH] = operand(b, !transB);
    backend.addon.matmul(aF, bF, out, batch, batchA, batchB, m, n, k, transA, transB, bf16, aH, bH);
  }
  return backend.output([...outer, m, n], out);
}

/** Activations of _FusedMatMul that are one native unary op. */
const UNARY_ACTIVATIONS: Record<string, string> = { relu: 'relu', relu6: 'relu6', elu: 'elu', sigmoid: 'sigmoid' };

export function matmulKernels(addon: NativeAddon): KernelConfig[] {
  const add = opCode(addon.binaryOps(), 'add');
  const activationCodes = Object.fromEntries(
    Object.entries(UNARY_ACTIVATIONS).map(([name, op]) => [name, opCode(addon.unaryOps(), op)]));
  const leaky = opCode(addon.unaryOps(), 'leakyRelu');

  const fused = ({ inputs, backend, attrs }: NativeArgs): TensorInfo | null => {
    const { a, b, bias, preluActivationWeights } = inputs;
    const activation = String(attrs.activation ?? 'linear');
    if (!a || !b || !allFloat32(a, b, bias, preluActivationWeights)) return null;
    if (activation === 'prelu') return null;
    const product = batchMatMul(backend, a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB));
    if (!product) return null;
    let current = product;
    const step = (next: TensorInfo | null): void => {
      if (!next) throw new Error(`_FusedMatMul: bias [${bias?.shape}] does not broadcast to [${current.shape}]`);
      backend.disposeIntermediateTensorInfo(current);
      current = next;
    };
    if (bias) step(binaryOp(backend, add, current, bias));
    if (activation === 'leakyrelu') step(unaryOp(backend, leaky, current, Number(attrs.leakyreluAlpha ?? 0.2)));
    else if (activation in activationCodes) step(unaryOp(backend, activationCodes[activation], current));
    else if (activation !== 'linear') throw new Error(`_FusedMatMul: activation "${activation}" is not supported`);
    return current;
  };

  return [
    nativeKernel(tf.BatchMatMul, ({ inputs, backend, attrs }) => {
      const a = need(inputs, 'a');
      const b = need(inputs, 'b');
      return allFloat32(a, b) ? batchMatMul(backend, a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB)) : null;
    }),
    nativeKernel(tf._FusedMatMul, fused),
  ];
}
