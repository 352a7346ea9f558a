// Greedy decoding: the encoder runs once, the decoder step by step until every row has emitted
// EOS or the length limit is reached.
import { scoped } from '../engine/scope';
import { tf } from '../engine/tf';
import type { T5Config } from './config';
import type { Params } from './params';
import { decode, encode } from './t5';

export interface GenerateOptions {
  /** Maximum number of generated tokens per row (EOS included). */
  maxLength: number;
}

/**
 * Greedy continuation of each input row. Returns the generated ids per row (without the start
 * token), ending with EOS when the row stopped on it.
 */
export function generate(config: T5Config, params: Params, inputIds: number[][], opts: GenerateOptions,
  attentionMask?: number[][]): number[][] {
  return scoped(() => {
    const mask = tf.tensor2d(attentionMask ?? inputIds.map((r) => r.map(() => 1)), undefined, 'float32');
    const encoderHidden = encode(config, params, tf.tensor2d(inputIds, undefined, 'int32'), mask);
    const out: number[][] = inputIds.map(() => []);
    const done = inputIds.map(() => false);
    const prefix = inputIds.map(() => [config.decoder_start_token_id]);
    for (let step = 0; step < opts.maxLength && done.some((d) => !d); step++) {
      // Without a key/value cache each step re-runs the decoder on the prefix: quadratic in
      // length but exact, and the encoder output is reused.
      const next = tf.tidy(() => {
        const logits = decode(config, params, tf.tensor2d(prefix, undefined, 'int32'), encoderHidden, mask);
        const t = prefix[0].length;
        return logits.slice([0, t - 1, 0], [-1, 1, -1]).argMax(-1).dataSync();
      });
      inputIds.forEach((_, row) => {
        const id = done[row] ? config.pad_token_id : next[row];
        prefix[row].push(id);
        if (done[row]) return;
        out[row].push(id);
        if (id === config.eos_token_id) done[row] = true;
      });
    }
    return out;
  });
}
