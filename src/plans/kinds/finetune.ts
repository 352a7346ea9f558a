// `finetune` nodes: another node's model fine-tuned on a suite of labelled tasks (or on tasks, or
// on GLUE from a directory), with every setting of `deepfusion finetune`
// (src/training/finetune_settings.ts). The plan's `defaults:` are pre-training settings and do
// not apply; settings given to the whole run (`deepfusion run --precision`) do, below the node's own. The result carries the suite's scores, which the report shows for the arm whose
// final node the model comes from (the paper's Figure 3).
import * as path from 'node:path';
import { selectTasks } from '../../data/tasks';
import { initEngine } from '../../engine';
import { finetune } from '../../training/finetune';
import { resolveFinetuneNodeSettings, type FinetuneNodeSettings } from '../../training/finetune_settings';
import type { NodeKind } from '../job';
import { Fields } from '../plan';
import { withPlanPositions } from '../plan_positions';
import { inputModel, peakRssMb } from './common';

export type FinetuneNode = FinetuneNodeSettings & { model: string };

export const finetuneKind: NodeKind<FinetuneNode> = {
  name: 'finetune',
  parse(raw, at, src, _defaults, overrides) {
    const f = Fields.of(src, at, raw, 'finetune: {model: <node>, suite: default}');
    const { model, ...own } = f.rawObject();
    if (typeof model !== 'string' || model === '') return f.fail('model', 'expected the node whose model is fine-tuned', 'write model: <node>');
    const settings = withPlanPositions(src, at, own, {}, () => {
      const s = resolveFinetuneNodeSettings([
        { values: overrides, source: 'the run\'s settings' },
        { values: own, source: `${src.file}: ${at.join('.')}` },
      ]);
      // Unknown tasks or suites, or a GLUE directory without its files, are refused before anything runs.
      selectTasks(s.tasks, `${src.file}: ${at.join('.')}`);
      return s;
    });
    return { ...settings, model };
  },
  inputs: (s) => [s.model],
  label: (s) => `finetune ${s.tasks.glue !== undefined ? 'GLUE' : s.tasks.task?.join(',') ?? s.tasks.suite ?? 'default'}${s.init === 'random' ? ' (random init)' : ''} · ${s.train.steps} steps`,
  reseed: (s, offset) => ({ ...s, train: { ...s.train, seed: s.train.seed + offset } }),
  async run(job, emit) {
    await initEngine();
    const started = performance.now();
    const { model: _m, ...settings } = job.settings;
    const runs = settings.mixture ? 1 : selectTasks(settings.tasks, 'finetune node').tasks.length;
    let done = 0;
    const r = await finetune({ ...settings, model: inputModel(job, 0), run: path.join(job.dir, 'finetune') }, {
      onNote: (text) => emit({ type: 'note', text }),
      onEvent: (_run, e) => {
        // One progress bar over every run of the suite.
        if (e.type === 'train') emit({ type: 'progress', step: done * settings.train.steps + e.step, total: runs * settings.train.steps, loss: e.loss });
        if (e.type === 'done') done++;
      },
    });
    return {
      kind: 'finetune', flops: r.flops, seconds: (performance.now() - started) / 1000, steps: runs * settings.train.steps,
      peak_rss_mb: peakRssMb(), evals: [], downstream: r,
      facts: { suite: r.suite, average: r.average, majority_average: r.majority_average, contaminated: r.contaminated.join(',') || null },
    };
  },
};
