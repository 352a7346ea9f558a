// The gradient of one training step, accumulated over micro-batches. Each micro-batch's mean
// loss is weighted by its share of the step's target tokens, so accumulating k micro-batches
// gives the loss and gradient of the one big batch they make up, padding or not.
import { IGNORE_INDEX } from '../engine/fused';
import { tf } from '../engine/tf';
import type { T5Config } from '../model/config';
import type { Params } from '../model/params';
import { lossAndGrads } from '../model/t5';
import type { ExampleBatch } from '../data/types';
import { toSeq2SeqBatch } from '../data';

export interface StepGradients {
  /** Mean loss over every target token of the step. */
  loss: number;
  /** Gradient of `loss`; the caller disposes it. */
  grads: Params;
}

/** Target tokens that carry loss (labels ≠ −100). */
export function targetTokens(b: ExampleBatch): number {
  let n = 0;
  for (const l of b.labels) if (l !== IGNORE_INDEX) n++;
  return n;
}

/** Tokens a step processes: non-padding inputs plus loss-carrying targets (for throughput). */
export function batchTokens(b: ExampleBatch): number {
  let n = 0;
  for (const m of b.attentionMask) n += m;
  return n + targetTokens(b);
}

/**
 * Loss and gradients over `batches` as one batch. `dropoutSeed(i)` seeds micro-batch i's
 * dropout (ignored at rate 0).
 */
export function stepGradients(config: T5Config, params: Params, batches: ExampleBatch[],
  dropout: { rate: number; seed: (micro: number) => number }): StepGradients {
  const counts = batches.map(targetTokens);
  const total = counts.reduce((a, b) => a + b, 0);
  let loss = 0;
  let acc: Params | null = null;
  batches.forEach((batch, i) => {
    const w = counts[i] / total;
    if (w === 0) return;
    const prev: Params | null = acc;
    acc = tf.tidy(() => {
      const r = lossAndGrads(config, params, toSeq2SeqBatch(batch), { dropout: { rate: dropout.rate, seed: dropout.seed(i) } });
      loss += w * r.loss.dataSync()[0];
      const out: Params = {};
      for (const [name, g] of Object.entries(r.grads)) {
        const weighted = w === 1 ? g : tf.mul(g, w);
        out[name] = prev ? tf.add(prev[name], weighted) : weighted;
      }
      return out;
    });
    if (prev) for (const t of Object.values(prev)) t.dispose();
  });
  if (!acc) throw new Error('stepGradients: no batch has a target token that carries loss');
  return { loss, grads: acc };
}
