// `analyze` nodes: a growth-dynamics analysis (src/analysis, docs/dynamics.md) of other nodes'
// models and training runs, so a plan's report holds its numbers and figures. The fixed batch
// comes from the plan's data; the other settings are the `deepfusion analyze` ones.
import * as path from 'node:path';
import { runAnalysis } from '../../analysis/analyze';
import { ANALYSES, ANALYSIS_SETTINGS, type AnalysisName, type AnalysisSettings } from '../../analysis/settings';
import { initEngine } from '../../engine';
import type { JobSpec, NodeKind } from '../job';
import { Fields } from '../plan';
import { withPlanPositions } from '../plan_positions';
import { inputModel, peakRssMb } from './common';

const DATA_FIELDS = ['corpus', 'tokenizer', 'vocab_size', 'input_length'] as const;
const NODE_SETTINGS = ANALYSIS_SETTINGS.omit([...DATA_FIELDS]);

export type AnalyzeSettings = Omit<AnalysisSettings, typeof DATA_FIELDS[number]> & {
  what: AnalysisName;
  /** Nodes whose model is analysed (fused models, or any model for modified-loss). */
  models: string[];
  /** Train nodes whose run (starting model, checkpoints, final model, log) is analysed. */
  runs: string[];
};

const isNameList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');

export const analyzeKind: NodeKind<AnalyzeSettings> = {
  name: 'analyze',
  // The fixed batch of modified-loss and bracket comes from the plan's corpus and tokenizer.
  readsData: true,
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'analyze: {what: heatmap, runs: [high_lr, low_lr]}');
    const { what, models, runs, ...own } = f.rawObject();
    if (!ANALYSES.includes(what as AnalysisName)) return f.fail('what', `expected one of ${ANALYSES.join(', ')}, got ${JSON.stringify(what)}`, `set what: ${ANALYSES[0]}`);
    for (const [key, v] of [['models', models], ['runs', runs]] as const) {
      if (v !== undefined && !isNameList(v)) f.fail(key, 'expected a list of node names', `write ${key}: [node_a, node_b]`);
    }
    for (const key of DATA_FIELDS) if (key in own) f.fail(key, 'is a data setting of the whole plan', `set it under data: (data: {${key}: ...})`);
    const list = (v: unknown): string[] => (isNameList(v) ? v : []);
    if (list(models).length + list(runs).length === 0) f.fail('runs', 'names no node to analyse', 'list train nodes under runs: or model nodes under models:');
    const s = withPlanPositions(src, at, own, {}, () => NODE_SETTINGS.resolve([{ values: own, source: `${src.file}: ${at.join('.')}` }]));
    return { ...s, what: what as AnalysisName, models: list(models), runs: list(runs) };
  },
  inputs: (s) => [...s.models, ...s.runs],
  label: (s) => `analyze ${s.what} · ${[...s.models, ...s.runs].join(', ')}`,
  async run(job: JobSpec<AnalyzeSettings>, emit) {
    await initEngine();
    const started = performance.now();
    const s = job.settings;
    const nameOf = (i: number): string => job.inputs[i].id.replace(/@\d+$/, '');
    const models = s.models.map((_, i) => ({ label: nameOf(i), dir: inputModel(job, i) }));
    const runs = s.runs.map((_, j) => {
      const i = s.models.length + j;
      const input = job.inputs[i];
      if (input.result.kind !== 'train') throw new Error(`analyze: runs must name train nodes, and ${input.id} is a ${input.result.kind} node`);
      // A train job's model is <run>/final.
      return { label: nameOf(i), dir: path.dirname(inputModel(job, i)) };
    });
    const { what, models: _m, runs: _r, ...rest } = s;
    const settings: AnalysisSettings = {
      ...rest, corpus: job.data.corpus, tokenizer: job.data.tokenizer, vocab_size: job.data.vocab_size, input_length: job.data.input_length,
    };
    const out = await runAnalysis({ what, models, runs, settings, outDir: job.dir, log: (text) => emit({ type: 'note', text }) });
    return {
      kind: 'analyze', flops: 0, seconds: (performance.now() - started) / 1000, steps: 0, peak_rss_mb: peakRssMb(), evals: [],
      facts: { what, ...out.facts }, figures: out.figures, summary: out.summary,
    };
  },
};
