import { DATA_SETTINGS } from '../../data/settings';
import { initEngine } from '../../engine';
import { evaluateModelDir } from '../../training/eval_model';
import { TRAINING_SETTINGS } from '../../training/settings';
import { parseCommandArgs, requireOption, type Command } from '../command';

const NAME = 'eval';

export const evalCommand: Command = {
  name: NAME,
  summary: "a model's validation loss and token accuracy on a corpus's held-out split",
  help: `Usage: deepfusion eval --model <dir> [data options]

Evaluates the T5 in <dir> on the fixed validation batches of the corpus (span corruption of its
held-out documents, the same examples for every model), and prints the mean loss and the share
of target tokens predicted right, both over every target token. The tokenizer is the model's
own tokenizer.json when it has one (models trained here do), else --tokenizer. Use the
input length and batches of the training run to compare with its val_loss.

${DATA_SETTINGS.help()}

Example: deepfusion eval --model runs/pretrain-s/final`,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, { model: { type: 'string' }, ...DATA_SETTINGS.cliOptions() }, false);
    const model = requireOption(NAME, 'model', v.model);
    const data = DATA_SETTINGS.resolve([{ values: DATA_SETTINGS.fromArgs(v), source: `deepfusion ${NAME}`, fromFlags: true }]);
    const spec = { ...data, eval_batch_size: data.eval_batch_size ?? TRAINING_SETTINGS.defaults().batch_size };
    await initEngine();
    const r = await evaluateModelDir(model, spec, (line) => process.stderr.write(`${line}\n`));
    console.log(`val_loss ${r.loss.toFixed(4)}  val_accuracy ${r.accuracy.toFixed(4)}  (${r.tokens} target tokens, ` +
      `${spec.eval_batches}×${spec.eval_batch_size} sequences of ${spec.input_length} tokens from corpus ${spec.corpus})`);
  },
};
