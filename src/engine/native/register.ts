// Registers the `native` backend with tfjs: every kernel of the cpu backend (so every op works,
// the fused ops' reference kernels included), then the native kernels over them.
import type { KernelConfig } from '@tensorflow/tfjs';
import { tf } from '../tf';
import type { BackendCandidate } from '../backend_candidate';
import { loadAddon, type AddonLoad, type NativeAddon } from './addon';
import { NativeBackend } from './backend';
import { elementwiseKernels } from './kernels/elementwise';
import { fusedKernels } from './kernels/fused';
import { gatherKernels } from './kernels/gather';
import { NATIVE_BACKEND } from './kernels/kernel';
import { matmulKernels } from './kernels/matmul';
import { reduceKernels } from './kernels/reduce';
import { softmaxKernels } from './kernels/softmax';
import { transposeKernels } from './kernels/transpose';

/** Every kernel the addon runs, by tfjs kernel name. */
export function nativeKernels(addon: NativeAddon): KernelConfig[] {
  return [
    ...matmulKernels(addon), ...elementwiseKernels(addon), ...reduceKernels(addon), ...transposeKernels(),
    ...gatherKernels(), ...softmaxKernels(), ...fusedKernels(),
  ];
}

let load: AddonLoad | undefined;
let registered = false;

function addonLoad(): AddonLoad {
  load ??= loadAddon();
  return load;
}

/** The loaded addon, or null when it cannot load here. */
export function nativeAddon(): NativeAddon | null {
  const l = addonLoad();
  return 'addon' in l ? l.addon : null;
}

/** Registers the backend once; false when the addon cannot load here. */
export function registerNative(): boolean {
  if (registered) return true;
  const l = addonLoad();
  if ('error' in l) return false;
  const kernels = new Map<string, KernelConfig>();
  for (const k of tf.getKernelsForBackend('cpu')) kernels.set(k.kernelName, { ...k, backendName: NATIVE_BACKEND });
  for (const k of nativeKernels(l.addon)) kernels.set(k.kernelName, k);
  for (const k of kernels.values()) tf.registerKernel(k);
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(l.addon));
  registered = true;
  return true;
}

export function describeNative(): string {
  const l = addonLoad();
  if ('error' in l) return `unavailable: ${l.error}`;
  const info = l.addon.info();
  const gemm = info.gemm === 'openblas' ? `OpenBLAS sgemm (${info.gemmLibrary})`
    : info.openblasRoundsByPosition && !l.gemmChosen
      ? `portable built-in sgemm, not OpenBLAS (its ${/core=(\S+)/.exec(info.gemmLibrary)?.[1] ?? ''} core rounds an element by where it sits: docs/architecture.md#determinism)`
    : 'portable built-in sgemm';
  return `C++ addon, ${gemm}, ${info.threads} threads, ${info.simd}${info.bf16 ? ', bf16 GEMM (AVX512-BF16)' : ', no bf16 GEMM'}`;
}

export const nativeCandidate: BackendCandidate = {
  name: NATIVE_BACKEND,
  register: registerNative,
  describe: describeNative,
};
