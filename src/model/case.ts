// A forward case (the golden fixtures' case.json): token ids in, named outputs out — logits,
// encoder output, loss and optionally the gradient of every parameter, under the fixtures' names.
import { scoped } from '../engine/scope';
import { tf, type Tensor } from '../engine/tf';
import { ConfigError } from '../errors';
import type { T5Config } from './config';
import type { Params } from './params';
import { forward, lossAndGrads, shiftRight, type Seq2SeqBatch } from './t5';

export interface ForwardCase {
  input_ids: number[][];
  attention_mask: number[][];
  labels?: number[][];
  decoder_input_ids: number[][];
}

export interface NamedOutput {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Validates a case against a config; `source` names the file in errors. */
export function parseCase(json: unknown, config: T5Config, source: string): ForwardCase {
  const raw = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const matrix = (field: string, required: boolean, ok: (v: number) => boolean, allowed: string): number[][] | undefined => {
    const v = raw[field];
    if (v === undefined) {
      if (required) throw new ConfigError(source, field, 'is missing', `add "${field}" as a list of rows of token ids`);
      return undefined;
    }
    if (!Array.isArray(v) || v.length === 0 || !v.every((r) => Array.isArray(r) && r.length > 0)) {
      throw new ConfigError(source, field, 'expected a non-empty list of non-empty rows', `write "${field}" as [[...], [...]]`);
    }
    const rows = v as unknown[][];
    if (rows.some((r) => r.length !== rows[0].length)) {
      throw new ConfigError(source, field, 'rows have different lengths', 'pad every row to the same length');
    }
    for (const r of rows) {
      for (const x of r) {
        if (typeof x !== 'number' || !Number.isInteger(x) || !ok(x)) {
          throw new ConfigError(source, field, `value ${JSON.stringify(x)} is not ${allowed}`, `use only ${allowed}`);
        }
      }
    }
    return rows as number[][];
  };
  const vocab = config.vocab_size;
  const token = (x: number) => x >= 0 && x < vocab;
  const ids = `a token id in [0, ${vocab})`;
  const inputIds = matrix('input_ids', true, token, ids) as number[][];
  const mask = matrix('attention_mask', false, (x) => x === 0 || x === 1, '0 or 1')
    ?? inputIds.map((r) => r.map(() => 1));
  const labels = matrix('labels', false, (x) => token(x) || x === -100, `${ids} or -100`);
  const decoderInputIds = matrix('decoder_input_ids', false, token, ids) ?? (labels && shiftRight(labels, config));
  if (!decoderInputIds) {
    throw new ConfigError(source, 'labels', 'neither labels nor decoder_input_ids is given', 'add "labels" (decoder inputs are derived from them)');
  }
  const sameShape = (a: number[][], b: number[][], fa: string, fb: string): void => {
    if (a.length !== b.length || a[0].length !== b[0].length) {
      throw new ConfigError(source, fb, `shape [${b.length}, ${b[0].length}] differs from ${fa} [${a.length}, ${a[0].length}]`,
        `give ${fb} the shape of ${fa}`);
    }
  };
  sameShape(inputIds, mask, 'input_ids', 'attention_mask');
  if (labels) sameShape(decoderInputIds, labels, 'decoder_input_ids', 'labels');
  if (decoderInputIds.length !== inputIds.length) {
    throw new ConfigError(source, 'decoder_input_ids', `has ${decoderInputIds.length} rows but input_ids has ${inputIds.length}`,
      'give both the same batch size');
  }
  return { input_ids: inputIds, attention_mask: mask, labels, decoder_input_ids: decoderInputIds };
}

export function caseToBatch(c: ForwardCase): Seq2SeqBatch {
  return {
    inputIds: tf.tensor2d(c.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(c.attention_mask, undefined, 'float32'),
    decoderInputIds: tf.tensor2d(c.decoder_input_ids, undefined, 'int32'),
    labels: c.labels ? tf.tensor2d(c.labels, undefined, 'int32') : undefined,
  };
}

const output = (name: string, t: Tensor): NamedOutput =>
  ({ name, shape: t.shape.length ? [...t.shape] : [1], data: t.dataSync() as Float32Array });

/** Runs a case: `logits`, `encoder_last_hidden_state`, `loss` and, with grads, `grad.<param>`. */
export function runCase(config: T5Config, params: Params, c: ForwardCase, opts: { grads?: boolean } = {}): NamedOutput[] {
  return scoped(() => {
    const batch = caseToBatch(c);
    const { logits, encoderHidden, loss } = forward(config, params, batch);
    const out = [output('logits', logits), output('encoder_last_hidden_state', encoderHidden)];
    if (loss) out.push(output('loss', loss));
    if (opts.grads) {
      if (!batch.labels) throw new Error('runCase: gradients need labels in the case');
      const { grads } = lossAndGrads(config, params, batch);
      for (const [name, g] of Object.entries(grads)) out.push(output(`grad.${name}`, g));
    }
    return out;
  });
}
