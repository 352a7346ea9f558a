// Examples → fixed-shape batches (the ExampleBatch contract) → model tensors.
import { tf } from '../engine/tf';
import { shiftRight, type Seq2SeqBatch } from '../model/t5';
import type { CorruptedExample } from './span_corruption';
import type { ExampleBatch } from './types';

/** Label value that takes no loss (HF's convention). */
export const IGNORED_LABEL = -100;

/**
 * Pads inputs with `padId` (attention mask 0 there) and targets with IGNORED_LABEL; decoder inputs
 * are the labels shifted right, starting with `padId` — T5's decoder_start_token_id is its pad id.
 */
export function buildBatch(examples: CorruptedExample[], inputLength: number, targetLength: number, padId: number): ExampleBatch {
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * inputLength).fill(padId);
  const attentionMask = new Float32Array(batchSize * inputLength);
  const labelRows: number[][] = [];
  examples.forEach((e, b) => {
    if (e.inputs.length > inputLength || e.targets.length > targetLength) {
      throw new Error(`example ${b} has ${e.inputs.length} inputs / ${e.targets.length} targets, ` +
        `more than the batch's ${inputLength} / ${targetLength}`);
    }
    inputIds.set(e.inputs, b * inputLength);
    attentionMask.fill(1, b * inputLength, b * inputLength + e.inputs.length);
    labelRows.push([...e.targets, ...new Array<number>(targetLength - e.targets.length).fill(IGNORED_LABEL)]);
  });
  const decoderRows = shiftRight(labelRows, { decoder_start_token_id: padId, pad_token_id: padId });
  return {
    batchSize,
    inputLength,
    targetLength,
    inputIds,
    attentionMask,
    decoderInputIds: Int32Array.from(decoderRows.flat()),
    labels: Int32Array.from(labelRows.flat()),
  };
}

/** The batch as model tensors; the caller owns (and disposes) them. */
export function toSeq2SeqBatch(b: ExampleBatch): Seq2SeqBatch {
  return {
    inputIds: tf.tensor2d(b.inputIds, [b.batchSize, b.inputLength], 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, [b.batchSize, b.inputLength], 'float32'),
    decoderInputIds: tf.tensor2d(b.decoderInputIds, [b.batchSize, b.targetLength], 'int32'),
    labels: tf.tensor2d(b.labels, [b.batchSize, b.targetLength], 'int32'),
  };
}
