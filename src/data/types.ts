// The contract between the data pipeline (corpus → tokenizer → span corruption → packed batches)
// and its consumers (the training loop, evaluation, plans). Plain typed arrays, no tensors, so
// batches can be built ahead, hashed, compared in tests and sent between processes.

/** One batch of span-corruption examples, row-major. */
export interface ExampleBatch {
  batchSize: number;
  inputLength: number;
  targetLength: number;
  /** [batchSize · inputLength], pad = 0. */
  inputIds: Int32Array;
  /** [batchSize · inputLength], 1 = token, 0 = padding. */
  attentionMask: Float32Array;
  /** [batchSize · targetLength]: labels shifted right with decoder_start_token_id, −100 → pad. */
  decoderInputIds: Int32Array;
  /** [batchSize · targetLength], −100 where no loss is taken (padding). */
  labels: Int32Array;
}

/** Where a stream stands; JSON-serialisable so a checkpoint can store it and resume exactly. */
export type DataPosition = Record<string, number | string | number[]>;

/** An endless, deterministic stream of training batches. */
export interface BatchStream {
  next(): ExampleBatch;
  /** The position after the last batch returned; `openTrainStream({..., position})` continues from it. */
  position(): DataPosition;
}

/** A training run's data: the stream from any position, and what identifies it. */
export interface TrainData {
  /** The training stream from `position` (absent: its beginning). */
  open(position?: DataPosition): BatchStream | Promise<BatchStream>;
  /** JSON describing the data (corpus, tokenizer, lengths, batch size, seed); part of the run's identity. */
  describe: unknown;
}
