// Per-kernel wall and CPU time: wraps every kernel of the active backend with a timer until
// stopped. This is how the native backend's hot spots were found (`deepfusion bench --profile`).
// CPU time (all threads of the process) still means something on a machine other work shares,
// where wall time does not.
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { tf } from './tf';

export interface KernelTime {
  kernel: string;
  calls: number;
  seconds: number;
  /** CPU time of the process (all threads) during the kernel's calls. */
  cpuSeconds: number;
}

export interface KernelProfile {
  /** Restores the kernels and returns the kernels that ran, slowest first. */
  stop(): KernelTime[];
}

export function startKernelProfile(): KernelProfile {
  const backend = tf.getBackend();
  const times = new Map<string, KernelTime>();
  const originals: Array<[KernelConfig, KernelFunc]> = [];
  for (const config of tf.getKernelsForBackend(backend)) {
    // The registry hands back the registered object, so the wrapper is seen by every runKernel.
    const registered = tf.getKernel(config.kernelName, backend) as KernelConfig;
    const inner = registered.kernelFunc;
    const entry: KernelTime = { kernel: config.kernelName, calls: 0, seconds: 0, cpuSeconds: 0 };
    times.set(config.kernelName, entry);
    originals.push([registered, inner]);
    registered.kernelFunc = (args) => {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      try {
        return inner(args);
      } finally {
        entry.calls++;
        entry.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        entry.cpuSeconds += (cpu.user + cpu.system) / 1e6;
      }
    };
  }
  return {
    stop() {
      for (const [config, inner] of originals) config.kernelFunc = inner;
      return [...times.values()].filter((k) => k.calls > 0).sort((a, b) => b.seconds - a.seconds);
    },
  };
}
