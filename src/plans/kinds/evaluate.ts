// `eval` nodes: validation loss and accuracy of another node's model on the plan's data.
import { initEngine } from '../../engine';
import { evaluateModelDir } from '../../training/eval_model';
import type { NodeKind } from '../job';
import { Fields } from '../plan';
import { inputModel, peakRssMb } from './common';

export interface EvalSettings { model: string }

export const evalKind: NodeKind<EvalSettings> = {
  name: 'eval',
  readsData: true,
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'eval: {model: <node>}');
    f.onlyKnown(['model']);
    return { model: f.string('model') };
  },
  inputs: (s) => [s.model],
  label: (s) => `eval ${s.model}`,
  async run(job) {
    await initEngine();
    const started = performance.now();
    const r = await evaluateModelDir(inputModel(job, 0), job.data);
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'eval', flops: 0, seconds, steps: 0, peak_rss_mb: peakRssMb(),
      evals: [{ step: 0, tokens: 0, flops: 0, seconds, val_loss: r.loss, val_accuracy: r.accuracy }],
      facts: {},
    };
  },
};
