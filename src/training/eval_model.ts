// Validation loss and accuracy of a model directory on a corpus's fixed validation batches:
// what `deepfusion eval` prints.
import { FileError } from '../errors';
import { loadModel } from '../io/checkpoint';
import { disposeParams } from '../model/params';
import { openTokenizer, openValidation, type DataProgress, type EvalDataSettings } from '../data';
import { evaluate, type EvalResult } from './evaluate';
import { checkModelDir, modelConfig, tokenizerForModel } from './pretrain';

/**
 * The model's own tokenizer.json is used when it has one (a model trained here always does; a
 * different tokenizer in the data settings is refused), otherwise the tokenizer the data
 * settings name.
 */
export async function evaluateModelDir(modelDir: string, spec: EvalDataSettings, progress?: DataProgress): Promise<EvalResult> {
  checkModelDir(modelDir);
  const tokenizer = openTokenizer({ ...spec, tokenizer: tokenizerForModel(modelDir, spec.tokenizer) }, progress);
  modelConfig({ from: modelDir, optimizer_state: 'reset' }, tokenizer);
  const batches = await openValidation(spec, tokenizer, progress);
  const { config, params } = loadModel(modelDir);
  try {
    const r = evaluate(config, params, batches);
    if (!Number.isFinite(r.loss)) {
      // Finite weights (loadModel checks them) can still overflow on real inputs.
      throw new FileError(modelDir, `gives a validation loss of ${r.loss}: the model overflows on these inputs`,
        'evaluate an earlier checkpoint of the run, or retrain with a lower learning rate');
    }
    return r;
  } finally {
    disposeParams(params);
  }
}
