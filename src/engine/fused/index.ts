// Registers the fused ops' reference kernels (on the `cpu` backend) and their gradients.
// A faster backend registers its own kernels under the same names.
import { tf } from '../tf';
import { adafactorKernels } from './adafactor';
import { adamwKernels } from './adamw';
import { attentionKernels } from './attention';
import { attentionContextGradient, attentionMatmulKernels, attentionScoresGradient } from './attention_matmul';
import { attentionSoftmaxGradient, attentionSoftmaxKernels } from './attention_softmax';
import { crossEntropyGradient, crossEntropyKernels } from './cross_entropy';
import { gatedGeluGradient, gatedGeluKernels } from './gated_gelu';
import { rmsNormGradient, rmsNormKernels } from './rms_norm';

/** Reference (typed-array JS) implementations of every fused kernel, keyed by kernel name. */
export const referenceFusedKernels = [
  ...rmsNormKernels, ...attentionSoftmaxKernels, ...crossEntropyKernels, ...gatedGeluKernels, ...adamwKernels, ...adafactorKernels,
  ...attentionMatmulKernels, ...attentionKernels,
];

for (const k of referenceFusedKernels) tf.registerKernel({ ...k, backendName: 'cpu' });
for (const g of [rmsNormGradient, attentionSoftmaxGradient, crossEntropyGradient, gatedGeluGradient,
  attentionScoresGradient, attentionContextGradient]) {
  tf.registerGradient(g);
}

export { rmsNorm } from './rms_norm';
export { attentionSoftmax, MASK_VALUE } from './attention_softmax';
export { attentionContext, attentionScores } from './attention_matmul';
export { attention } from './attention';
export { crossEntropy, IGNORE_INDEX } from './cross_entropy';
export { gatedGelu } from './gated_gelu';
export { adamwUpdate, type AdamWAttrs } from './adamw';
export { adafactorUpdate, isFactored, type AdafactorAttrs } from './adafactor';
