// Binary ops with broadcasting and unary ops, float32.
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { NativeAddon } from '../addon';
import type { NativeBackend } from '../backend';
import { broadcastLayout, broadcastShapes, sizeOf } from '../layout';
import { allFloat32, nativeKernel, need, opCode } from './kernel';

/** tfjs kernel name → the addon's binary op. */
const BINARY: Record<string, string> = {
  Add: 'add', Sub: 'sub', Multiply: 'mul', RealDiv: 'div', Maximum: 'max', Minimum: 'min',
  Pow: 'pow', SquaredDifference: 'squaredDifference',
};

/** tfjs kernel name → the addon's unary op; `param` reads the op's attribute. */
const UNARY: Record<string, { op: string; param?: string }> = {
  Neg: { op: 'neg' }, Exp: { op: 'exp' }, Log: { op: 'log' }, Sqrt: { op: 'sqrt' }, Rsqrt: { op: 'rsqrt' },
  Square: { op: 'square' }, Reciprocal: { op: 'reciprocal' }, Abs: { op: 'abs' }, Relu: { op: 'relu' },
  Relu6: { op: 'relu6' }, Step: { op: 'step', param: 'alpha' }, Sign: { op: 'sign' }, Tanh: { op: 'tanh' },
  Sigmoid: { op: 'sigmoid' }, Log1p: { op: 'log1p' }, Expm1: { op: 'expm1' }, Floor: { op: 'floor' },
  Ceil: { op: 'ceil' }, Elu: { op: 'elu' }, LeakyRelu: { op: 'leakyRelu', param: 'alpha' }, Softplus: { op: 'softplus' },
};

/** a ∘ b with broadcasting, or null when the shapes do not broadcast (the fallback reports it). */
export function binaryOp(backend: NativeBackend, code: number, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) return null;
  const out = backend.alloc(sizeOf(shape));
  if (out.length > 0) backend.addon.binary(code, backend.f32(a), backend.f32(b), out, broadcastLayout(shape, a.shape, b.shape));
  return backend.output(shape, out);
}

export function unaryOp(backend: NativeBackend, code: number, x: TensorInfo, param = 0): TensorInfo {
  const out = backend.alloc(sizeOf(x.shape));
  if (out.length > 0) backend.addon.unary(code, backend.f32(x), out, param);
  return backend.output(x.shape, out);
}

export function elementwiseKernels(addon: NativeAddon): KernelConfig[] {
  const binary = Object.entries(BINARY).map(([name, op]) => {
    const code = opCode(addon.binaryOps(), op);
    return nativeKernel(name, ({ inputs, backend }) => {
      const a = need(inputs, 'a');
      const b = need(inputs, 'b');
      return allFloat32(a, b) ? binaryOp(backend, code, a, b) : null;
    });
  });
  const unary = Object.entries(UNARY).map(([name, { op, param }]) => {
    const code = opCode(addon.unaryOps(), op);
    return nativeKernel(name, ({ inputs, backend, attrs }) => {
      const x = need(inputs, 'x');
      return allFloat32(x) ? unaryOp(backend, code, x, param ? Number(attrs[param]) : 0) : null;
    });
  });
  return [...binary, ...unary];
}
