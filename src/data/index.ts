// The data pipeline's public face: corpus → tokenizer → span corruption → packed batches.
export type { BatchStream, DataPosition, ExampleBatch } from './types';
export { VALIDATION_FRACTION, splitDocuments, type Corpus, type CorpusDocument } from './corpus';
export { DEFAULT_CORPUS } from './corpus_default';
export { openCorpus } from './corpus_open';
export { normalizeText } from './normalize';
export { DEFAULT_SENTINELS, DEFAULT_VOCAB_SIZE, loadTokenizer, tokensPerWord, trainTokenizer, type T5Tokenizer } from './tokenizer';
export { cachedTokenizer, defaultTokenizer } from './default_tokenizer';
export { spanCorruptionLengths, T5_SPAN_CORRUPTION, type SpanCorruptionOptions } from './span_corruption';
export { openTrainStream, validationBatches, type StreamOptions, type TrainStreamOptions, type ValidationOptions } from './stream';
export { IGNORED_LABEL, toSeq2SeqBatch } from './batch';
export { openTokenizer, openTrainingData, openValidation, type DataProgress, type EvalDataSettings, type StreamSettings, type TrainingData } from './open';
export { DATA_SETTINGS, type DataSettings } from './settings';
