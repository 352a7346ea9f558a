// How a native kernel is declared: a function of the tfjs kernel arguments that returns its
// outputs, or null to hand the call to tfjs's cpu kernel of the same name (dtypes or attributes
// the addon does not cover). The fallback keeps every op working on the native backend.
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { tf } from '../../tf';
import type { NativeBackend } from '../backend';

export const NATIVE_BACKEND = 'native';

export interface NativeArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: NativeBackend;
  attrs: NamedAttrMap;
}

export type NativeImpl = (args: NativeArgs) => TensorInfo | TensorInfo[] | null;

export function nativeKernel(kernelName: string, impl: NativeImpl): KernelConfig {
  let cpu: KernelFunc | undefined;
  const kernelFunc: KernelFunc = (args) => {
    const out = impl(args as unknown as NativeArgs);
    if (out !== null) return out;
    cpu ??= tf.getKernel(kernelName, 'cpu')?.kernelFunc;
    if (!cpu) throw new Error(`native backend: no cpu fallback for kernel ${kernelName}`);
    return cpu(args);
  };
  return { kernelName, backendName: NATIVE_BACKEND, kernelFunc };
}

/** A kernel input that must be present (tfjs types every input as optional). */
export function need(inputs: NativeArgs['inputs'], name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`native kernel: missing input "${name}"`);
  return t;
}

export function allFloat32(...tensors: (TensorInfo | undefined)[]): boolean {
  return tensors.every((t) => t === undefined || t.dtype === 'float32');
}

/** The code of `name` in one of the addon's op lists (its index), checked once at registration. */
export function opCode(list: string[], name: string): number {
  const code = list.indexOf(name);
  if (code < 0) throw new Error(`native addon has no op "${name}" (rebuild it: npm run build:native)`);
  return code;
}
