// Kernels that replace tfjs's own on the `cpu` backend where tfjs's cost is out of proportion
// (same results, less time). The native backend starts from these too, for the dtypes it hands
// back to cpu.
import { tf } from '../tf';
import { unsortedSegmentSumKernel } from './unsorted_segment_sum';

for (const k of [unsortedSegmentSumKernel]) {
  tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel(k);
}
