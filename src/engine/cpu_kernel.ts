// Glue between tfjs's kernel interface and plain typed-array math: the fused ops keep their
// arithmetic in pure functions over arrays, and these helpers read inputs from / write outputs
// to any backend that stores tensors the way tfjs's cpu backend does (the native one does).
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export type TypedValues = Float32Array | Int32Array;

export function readValues(backend: unknown, t: TensorInfo): TypedValues {
  const values = (backend as MathBackendCPU).data.get(t.dataId).values;
  if (!(values instanceof Float32Array || values instanceof Int32Array)) {
    throw new Error(`fused kernel: tensor of dtype ${t.dtype} is not stored as a typed array`);
  }
  return values;
}

export function readFloat32(backend: unknown, t: TensorInfo): Float32Array {
  const values = readValues(backend, t);
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

export function makeFloat32(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return (backend as MathBackendCPU).makeTensorInfo(shape, 'float32', values);
}

export type { KernelFunc, TensorInfo };

/** A kernel input that must be present (tfjs types every input as optional). */
export function input(inputs: Record<string, TensorInfo | undefined>, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`fused kernel: missing input "${name}"`);
  return t;
}
