// Validation: loss and next-token accuracy over fixed batches, both averaged over every
// loss-carrying target token (not per batch), so batch boundaries do not change the numbers.
import { IGNORE_INDEX } from '../engine/fused';
import { scoped } from '../engine/scope';
import type { Tensor } from '../engine/tf';
import type { T5Config } from '../model/config';
import type { Params } from '../model/params';
import { forward } from '../model/t5';
import type { ExampleBatch } from '../data/types';
import { targetTokens } from './step';
import { toSeq2SeqBatch } from '../data';

export interface EvalResult {
  loss: number;
  /** Share of target tokens whose most likely prediction is the label. */
  accuracy: number;
  /** Target tokens evaluated. */
  tokens: number;
}

export function evaluate(config: T5Config, params: Params, batches: readonly ExampleBatch[]): EvalResult {
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  for (const batch of batches) {
    const n = targetTokens(batch);
    if (n === 0) continue;
    scoped(() => {
      const { logits, loss } = forward(config, params, toSeq2SeqBatch(batch));
      lossSum += (loss as Tensor).dataSync()[0] * n;
      const predicted = logits.argMax(-1).dataSync();
      batch.labels.forEach((label, i) => { if (label !== IGNORE_INDEX && predicted[i] === label) correct++; });
    });
    tokens += n;
  }
  if (tokens === 0) throw new Error('evaluate: the validation batches hold no target token that carries loss');
  return { loss: lossSum / tokens, accuracy: correct / tokens, tokens };
}
