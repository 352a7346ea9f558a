// An ExampleBatch (plain typed arrays, data/types.ts) as the model's input tensors.
// TODO(data): replace with the data pipeline's toSeq2SeqBatch when it lands on main.
import { tf } from '../engine/tf';
import type { Seq2SeqBatch } from '../model/t5';
import type { ExampleBatch } from './data/types';

export function toSeq2SeqBatch(b: ExampleBatch): Seq2SeqBatch {
  return {
    inputIds: tf.tensor2d(b.inputIds, [b.batchSize, b.inputLength], 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, [b.batchSize, b.inputLength], 'float32'),
    decoderInputIds: tf.tensor2d(b.decoderInputIds, [b.batchSize, b.targetLength], 'int32'),
    labels: tf.tensor2d(b.labels, [b.batchSize, b.targetLength], 'int32'),
  };
}
