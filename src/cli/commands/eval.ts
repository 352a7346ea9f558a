import { initEngine } from '../../engine';
import { evaluateModelDir } from '../../training/eval_model';
import { DEFAULT_DATA } from '../../training/pretrain_settings';
import { numberOption, parseCommandArgs, requireOption, type Command } from '../command';

const NAME = 'eval';

export const evalCommand: Command = {
  name: NAME,
  summary: "a model's validation loss and token accuracy on a corpus's held-out split",
  help: `Usage: deepfusion eval --model <dir> [--corpus default|<path>] [--tokenizer default|<tokenizer.json>]
                       [--input-len 128] [--batches 8] [--batch 16] [--vocab-size 8192]

Evaluates the T5 in <dir> on the fixed validation batches of the corpus (span corruption of its
held-out documents, the same examples for every model), and prints the mean loss and the share
of target tokens predicted right, both over every target token. The tokenizer is the model's
own tokenizer.json when it has one (models trained here do), else --tokenizer. Use the
input length and batches of the training run to compare with its val_loss.

Example: deepfusion eval --model runs/pretrain-s/final`,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, {
      model: { type: 'string' }, corpus: { type: 'string' }, tokenizer: { type: 'string' }, 'input-len': { type: 'string' },
      batches: { type: 'string' }, batch: { type: 'string' }, 'vocab-size': { type: 'string' },
    }, false);
    const model = requireOption(NAME, 'model', v.model);
    const d = DEFAULT_DATA;
    const spec = {
      corpus: v.corpus ?? d.corpus,
      tokenizer: v.tokenizer ?? d.tokenizer,
      vocab_size: numberOption(NAME, 'vocab-size', v['vocab-size'], d.vocab_size, { integer: true, min: 2 }),
      input_length: numberOption(NAME, 'input-len', v['input-len'], d.input_length, { integer: true, min: 1 }),
      eval_batches: numberOption(NAME, 'batches', v.batches, d.eval_batches, { integer: true, min: 1 }),
      eval_batch_size: numberOption(NAME, 'batch', v.batch, d.eval_batch_size, { integer: true, min: 1 }),
    };
    await initEngine();
    const r = await evaluateModelDir(model, spec, (line) => process.stderr.write(`${line}\n`));
    console.log(`val_loss ${r.loss.toFixed(4)}  val_accuracy ${r.accuracy.toFixed(4)}  (${r.tokens} target tokens, ` +
      `${spec.eval_batches}×${spec.eval_batch_size} sequences of ${spec.input_length} tokens from corpus ${spec.corpus})`);
  },
};
