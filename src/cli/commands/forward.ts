import { initEngine } from '../../engine';
import { loadModel, readJsonFile } from '../../io/checkpoint';
import { writeSafetensors } from '../../io/safetensors';
import { parseCase, runCase } from '../../model/case';
import { parseCommandArgs, requireOption, type Command } from '../command';

export const forwardCommand: Command = {
  name: 'forward',
  summary: 'run a model on a case and write logits, encoder output, loss (and gradients)',
  help: `Usage: deepfusion forward --model <dir> --case <case.json> --out <file.safetensors> [--grads]

Runs the T5 in <dir> on the batch in <case.json> ({"input_ids": [[...]], "attention_mask":
[[...]], "labels": [[...]], "decoder_input_ids": [[...]]}; attention_mask defaults to ones and
decoder_input_ids to the labels shifted right) and writes, as float32 safetensors:
  logits [B, T_dec, V], encoder_last_hidden_state [B, T_enc, d_model], loss [1] (with labels)
  grad.<parameter> for every parameter, with --grads (gradient of the mean loss)

Example: deepfusion forward --model test/fixtures/t5-v11-tiny/model \\
           --case test/fixtures/t5-v11-tiny/case/case.json --out /tmp/out.safetensors --grads`,
  async run(argv) {
    const { values } = parseCommandArgs('forward', argv, {
      model: { type: 'string' }, case: { type: 'string' }, out: { type: 'string' }, grads: { type: 'boolean' },
    }, false);
    const modelDir = requireOption('forward', 'model', values.model);
    const casePath = requireOption('forward', 'case', values.case);
    const out = requireOption('forward', 'out', values.out);
    const { config, params } = loadModel(modelDir);
    const c = parseCase(readJsonFile(casePath, 'the case'), config, casePath);
    await initEngine();
    const outputs = runCase(config, params, c, { grads: values.grads });
    writeSafetensors(out, outputs);
    const loss = outputs.find((o) => o.name === 'loss');
    console.log(`wrote ${outputs.length} tensors to ${out}${loss ? ` (loss ${loss.data[0].toFixed(6)})` : ''}`);
  },
};
