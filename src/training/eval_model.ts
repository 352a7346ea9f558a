// Validation loss and accuracy of a model directory on a corpus's fixed validation batches:
// what `deepfusion eval` prints.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, TOKENIZER_FILE } from '../io/checkpoint';
import { disposeParams } from '../model/params';
import { loadTokenizer, openTokenizer, openValidation, type DataProgress, type EvalDataSettings } from '../data';
import { evaluate, type EvalResult } from './evaluate';
import { modelConfig } from './pretrain';

/**
 * With `spec.tokenizer` "default", the model's own tokenizer.json is used when it has one (a
 * model trained here always does); otherwise the tokenizer the data settings name.
 */
export async function evaluateModelDir(modelDir: string, spec: EvalDataSettings, progress?: DataProgress): Promise<EvalResult> {
  const own = path.join(modelDir, TOKENIZER_FILE);
  const tokenizer = spec.tokenizer === 'default' && fs.existsSync(own) ? loadTokenizer(own) : openTokenizer(spec, progress);
  modelConfig({ from: modelDir, optimizer_state: 'reset' }, tokenizer);
  const batches = await openValidation(spec, tokenizer, progress);
  const { config, params } = loadModel(modelDir);
  try {
    return evaluate(config, params, batches);
  } finally {
    disposeParams(params);
  }
}
