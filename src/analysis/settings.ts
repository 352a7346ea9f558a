// The settings of the growth-dynamics analyses (`deepfusion analyze …` flags and plan `analyze:`
// node fields), declared once (src/util/settings.ts).
import { DATA_SETTINGS } from '../data/settings';
import { custom, defineSettings, int, num, oneOf, SettingProblem, text, type SettingValues } from '../util/settings';

export const ANALYSES = ['replicas', 'heatmap', 'modified-loss', 'bracket'] as const;
export type AnalysisName = typeof ANALYSES[number];

/** The fixed batch gradients are taken on: a case file, or the first validation examples of a corpus. */
export const BATCH_SETTINGS = DATA_SETTINGS.pick(['corpus', 'tokenizer', 'vocab_size', 'input_length'], 'analysis setting').with(defineSettings('analysis setting', {
  batch_size: int({
    default: 8, min: 1, max: 65_536, flag: 'batch', arg: 'B', group: 'Batch',
    help: 'validation sequences in the fixed batch the gradients are taken on (dropout off)',
  }),
  case: text({
    group: 'Batch', arg: '<case.json>',
    help: 'take the batch from a case file (input_ids, attention_mask, labels; docs/t5.md) instead of the corpus',
  }),
}));

const stepSizes = custom<number[] | undefined>({
  group: 'Modified loss', arg: 'h1,h2,…', defaultText: 'five from 0.003/κ to 0.03/κ, κ = ‖Hg‖/‖g‖ (docs/dynamics.md)',
  help: 'gradient-descent step sizes to compare with the flows',
  parse: (v) => {
    if (!Array.isArray(v) || v.length < 2 || v.some((x) => typeof x !== 'number' || !(x > 0) || !Number.isFinite(x))) {
      throw new SettingProblem(`expected a list of at least two positive numbers, got ${JSON.stringify(v)}`, 'a list of at least two positive step sizes, e.g. [0.001, 0.003, 0.01]');
    }
    return v;
  },
  fromFlag: (t) => t.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))),
});

export const MODIFIED_LOSS_SETTINGS = defineSettings('analysis setting', {
  h: stepSizes,
  substeps: int({
    default: 2, min: 1, max: 1000, group: 'Modified loss',
    help: 'Runge–Kutta (RK4) steps per flow integration (its error, O((hλ)⁵) a step, is far below the O(h³) gap at the default h)',
  }),
});

export const HVP_SETTINGS = defineSettings('analysis setting', {
  hvp_radius: num({
    above: 0, group: 'Hessian-vector products', arg: 'r', defaultText: 'calibrated from 1e-5 to 0.1',
    help: 'finite-difference radius along the unit vector (fourth-order central differences of gradients)',
  }),
});

export const HEATMAP_SETTINGS = defineSettings('analysis setting', {
  tensor: text({
    group: 'Heat map', arg: '<param>', defaultText: "the first encoder layer's feed-forward input kernel",
    help: 'the weight matrix to draw (a Hugging Face parameter name)',
  }),
  window: int({ default: 32, min: 1, max: 4096, group: 'Heat map', help: 'rows and columns shown from each source\'s block' }),
  columns: int({ default: 6, min: 1, max: 64, group: 'Heat map', help: 'checkpoints shown per run at most (spread over the run)' }),
});

export const OVER_TRAINING_SETTINGS = defineSettings('analysis setting', {
  every: int({
    default: 0, min: 0, max: 100_000_000, group: 'Over training',
    help: 'use the checkpoints whose step is a multiple of N (and the last); 0: every checkpoint kept',
  }),
  source: oneOf(['auto', 'log', 'checkpoints'] as const, {
    default: 'auto', group: 'Over training', arg: '<auto|log|checkpoints>',
    help: 'replicas: the statistics the run logged (track_replicas_every), or computed from its checkpoints; auto: the log when it has any',
  }),
});

/** Every setting an analysis takes (each analysis reads the ones it needs). */
export const ANALYSIS_SETTINGS = BATCH_SETTINGS.with(MODIFIED_LOSS_SETTINGS).with(HVP_SETTINGS).with(HEATMAP_SETTINGS).with(OVER_TRAINING_SETTINGS);

export type AnalysisSettings = SettingValues<typeof ANALYSIS_SETTINGS.decls>;
