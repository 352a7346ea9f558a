// The data a run reads, opened from its settings: the corpus, the tokenizer (a file, or one
// trained on the corpus and cached), the resumable training stream and the fixed validation
// batches.
import { UserError } from '../errors';
import { splitDocuments, type Corpus } from './corpus';
import { openCorpus } from './corpus_open';
import { cachedTokenizer } from './default_tokenizer';
import type { DataSettings } from './settings';
import { openTrainStream, validationBatches } from './stream';
import { loadTokenizer, type T5Tokenizer } from './tokenizer';
import type { ExampleBatch, TrainData } from './types';

export interface TrainingData {
  tokenizer: T5Tokenizer;
  train: TrainData;
  validation: ExampleBatch[];
}

/** What the training stream adds to the data settings: its batch size and order. */
export interface StreamSettings {
  batch_size: number;
  seed: number;
}

/** Settings the validation batches depend on (evaluation reads only these). */
export type EvalDataSettings = Pick<DataSettings, 'corpus' | 'tokenizer' | 'vocab_size' | 'input_length' | 'eval_batches' | 'eval_batch_size'>;

/** What slow preparation (tokenizer training, corpus tokenization) reports, as one line each. */
export type DataProgress = (line: string) => void;

export function openTokenizer(spec: Pick<DataSettings, 'corpus' | 'tokenizer' | 'vocab_size'>, progress?: DataProgress,
  opened?: Corpus): T5Tokenizer {
  if (spec.tokenizer !== 'default') return loadTokenizer(spec.tokenizer);
  const corpus = opened ?? checkedCorpus(spec.corpus);
  progress?.(`tokenizer: ${spec.vocab_size} ids trained on corpus ${spec.corpus} (cached after the first time)`);
  return cachedTokenizer({ corpus, vocabSize: spec.vocab_size });
}

/**
 * The corpus, refused when it cannot give both a training and a validation split: found before
 * a tokenizer is trained or the corpus tokenized, which may take minutes.
 */
function checkedCorpus(source: string): Corpus {
  const corpus = openCorpus(source);
  const split = splitDocuments(corpus.documents());
  for (const which of ['train', 'validation'] as const) {
    if (split[which].length === 0) {
      throw new UserError(`corpus ${corpus.source} holds ${split.train.length + split.validation.length} document(s), so it has no ${which} documents. ` +
        'Fix: give a corpus of at least two documents (text files are split into documents at blank lines; JSONL has one per line)');
    }
  }
  return corpus;
}

export async function openValidation(spec: EvalDataSettings, tokenizer: T5Tokenizer, progress?: DataProgress): Promise<ExampleBatch[]> {
  return validationBatches({
    corpus: openCorpus(spec.corpus), tokenizer, inputLength: spec.input_length, batchSize: spec.eval_batch_size,
    count: spec.eval_batches, onProgress: tokenizing(progress),
  });
}

export async function openTrainingData(spec: DataSettings, stream: StreamSettings, progress?: DataProgress): Promise<TrainingData> {
  const corpus = checkedCorpus(spec.corpus);
  const tokenizer = openTokenizer(spec, progress, corpus);
  const validation = await openValidation(spec, tokenizer, progress);
  const train: TrainData = {
    open: (position) => openTrainStream({
      corpus, tokenizer, inputLength: spec.input_length, batchSize: stream.batch_size, seed: stream.seed, position,
      onProgress: tokenizing(progress),
    }),
    // Content, not names: a changed corpus file or tokenizer makes a different run.
    describe: {
      corpus: corpus.source, corpus_fingerprint: corpus.fingerprint, tokenizer: tokenizer.fingerprint,
      input_length: spec.input_length, batch_size: stream.batch_size, seed: stream.seed,
      eval_batches: spec.eval_batches, eval_batch_size: spec.eval_batch_size,
    },
  };
  return { tokenizer, train, validation };
}

function tokenizing(progress?: DataProgress) {
  if (!progress) return undefined;
  let last = '';
  return (p: { split: string; documents: number; of: number }): void => {
    const pct = Math.floor((100 * p.documents) / p.of / 10) * 10;
    const line = `tokenizing the ${p.split} split: ${pct}%`;
    if (line !== last) progress(line);
    last = line;
  };
}
