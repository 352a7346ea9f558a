// A small T5 model directory (random weights) and its tokenizer, for fine-tuning tests: what
// `deepfusion pretrain` leaves in final/, without the training. The tokenizer is trained on Moby
// Dick chapters and a page of sentences with numbers, so it writes digits (regression answers
// such as "3.8") as the bundled tokenizer does. The shape is the `tiny` preset's widened to
// d_model 64, the smallest that learns the test tasks in a few dozen steps from random weights.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileCorpus } from '../../src/data/corpus_files';
import { trainTokenizer, type T5Tokenizer } from '../../src/data/tokenizer';
import { saveModel, TOKENIZER_FILE } from '../../src/io/checkpoint';
import { makeConfig } from '../../src/model/config';
import { disposeParams, initParams } from '../../src/model/params';
import { writeChapterDir } from './corpus';
import { temporaryDir } from './tmp';

let tokenizer: T5Tokenizer | undefined;

/** A 400-id tokenizer that knows digits; trained once per test process. */
export function numbersTokenizer(): T5Tokenizer {
  if (!tokenizer) {
    const dir = writeChapterDir(12);
    const lines = Array.from({ length: 200 }, (_, i) => `In ${1800 + i} the ship made ${((i * 0.2) % 5).toFixed(1)} knots, ${(i % 11) - 5} degrees, ${i} men.`);
    fs.writeFileSync(path.join(dir, 'numbers.txt'), lines.join('\n'));
    tokenizer = trainTokenizer({ corpus: fileCorpus(dir), vocabSize: 400 });
  }
  return tokenizer;
}

export async function tinyModelDir(seed = 1): Promise<string> {
  const t = numbersTokenizer();
  const dir = path.join(temporaryDir(), 'model');
  const tokenizerFile = path.join(temporaryDir(), TOKENIZER_FILE);
  t.save(tokenizerFile);
  const config = makeConfig({ vocab_size: t.vocabSize, d_model: 64, d_kv: 32, num_heads: 2, d_ff: 128, num_layers: 2, dropout_rate: 0 });
  const params = initParams(config, seed);
  await saveModel(dir, { config, params }, { [TOKENIZER_FILE]: tokenizerFile });
  disposeParams(params);
  return dir;
}
