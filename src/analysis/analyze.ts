// The growth-dynamics analyses as one entry point (docs/dynamics.md): what `deepfusion analyze`
// and plans' `analyze:` nodes run. Each prints numbers (summary lines), writes its figures and a
// JSON file with every number into the output directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openTokenizer, openValidation, toSeq2SeqBatch } from '../data';
import { UserError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { loadModel, readConfig, readJsonFile, TOKENIZER_FILE } from '../io/checkpoint';
import { caseToBatch, parseCase } from '../model/case';
import type { T5Config } from '../model/config';
import { disposeParams } from '../model/params';
import { lossAndGrads, type Seq2SeqBatch } from '../model/t5';
import { loadTokenizer } from '../data/tokenizer';
import { lineChart, type Series } from '../report/plot';
import { METRICS_FILE, readProbeRecords } from '../training/metrics';
import { lieBracket, type BracketResult } from './bracket';
import { lossField } from './gradient_field';
import { kernelHeatmap } from './heatmaps';
import { logLogSlope, modifiedLossGap, type ModifiedLossResult } from './modified_loss';
import { modelStats, REPLICAS_RECORD, replicaStats, replicaStatsOf, statsByKind, type ReplicaStats, type TensorReplicaStats } from './replicas';
import { everyNth, requireFusionPlan, runPoints } from './runs';
import type { AnalysisName, AnalysisSettings } from './settings';

/** A model directory or a run directory, with the name it goes by in tables and legends. */
export interface AnalysisTarget { label: string; dir: string }

export interface AnalysisInput {
  what: AnalysisName;
  /** Model directories (modified-loss, bracket, replicas at one point). */
  models: AnalysisTarget[];
  /** Run directories (replicas, heatmap, bracket over training). */
  runs: AnalysisTarget[];
  settings: AnalysisSettings;
  outDir: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface AnalysisFigure { file: string; title: string }

export interface AnalysisOutput {
  what: AnalysisName;
  summary: string[];
  figures: AnalysisFigure[];
  /** The JSON file with every number, relative to the output directory. */
  data: string;
  /** The headline numbers (for a plan's job result). */
  facts: Record<string, number | string | boolean | null>;
}

const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toPrecision(digits));

/** The fixed batch of an analysis of models like the one in `modelDir`: a case file, or validation examples. */
async function fixedBatch(modelDir: string, config: T5Config, s: AnalysisSettings, log?: (line: string) => void): Promise<Seq2SeqBatch> {
  if (s.case) return caseToBatch(parseCase(readJsonFile(s.case, 'the case'), config, s.case));
  const own = path.join(modelDir, TOKENIZER_FILE);
  const tokenizer = s.tokenizer === 'default' && fs.existsSync(own) ? loadTokenizer(own) : openTokenizer(s, log);
  const [batch] = await openValidation({ ...s, eval_batches: 1, eval_batch_size: s.batch_size }, tokenizer, log);
  return toSeq2SeqBatch(batch);
}

function disposeBatch(b: Seq2SeqBatch): void {
  for (const t of [b.inputIds, b.attentionMask, b.decoderInputIds, b.labels]) t?.dispose();
}

/** Runs `f` on the loss field of the model in `dir` on `batch`, freeing the model after. */
function withField<T>(dir: string, batch: Seq2SeqBatch, f: (field: ReturnType<typeof lossField>) => T): T {
  const { config, params } = loadModel(dir);
  try {
    return f(lossField(config, params, batch));
  } finally {
    disposeParams(params);
  }
}

/** Runs one analysis; see docs/dynamics.md for what each measures. */
export async function runAnalysis(input: AnalysisInput): Promise<AnalysisOutput> {
  fs.mkdirSync(input.outDir, { recursive: true });
  switch (input.what) {
    case 'modified-loss': return modifiedLossAnalysis(input);
    case 'bracket': return bracketAnalysis(input);
    case 'replicas': return replicasAnalysis(input);
    case 'heatmap': return heatmapAnalysis(input);
  }
}

function need(input: AnalysisInput, kind: 'models' | 'runs' | 'either'): void {
  const has = kind === 'models' ? input.models.length > 0 : kind === 'runs' ? input.runs.length > 0 : input.models.length + input.runs.length > 0;
  if (!has) {
    const what = kind === 'models' ? 'a model directory (--model)' : kind === 'runs' ? 'a run directory (--run)' : 'a model (--model) or a run (--run)';
    throw new UserError(`analyze ${input.what}: needs ${what}. Fix: give one; deepfusion analyze --help`);
  }
}

function write(input: AnalysisInput, file: string, text: string): void {
  writeFileAtomic(path.join(input.outDir, file), text);
}

// ---- modified loss -------------------------------------------------------------------------

async function modifiedLossAnalysis(input: AnalysisInput): Promise<AnalysisOutput> {
  need(input, 'models');
  const s = input.settings;
  const results: Array<{ label: string; dir: string; result: ModifiedLossResult }> = [];
  for (const m of input.models) {
    const config = readConfig(m.dir);
    const batch = await fixedBatch(m.dir, config, s, input.log);
    try {
      const result = withField(m.dir, batch, (field) => modifiedLossGap(field, {
        h: s.h, substeps: s.substeps, radius: s.hvp_radius,
        onRow: (row, i, of) => input.log?.(`${m.label}: h ${row.h} (${i + 1}/${of}): |GD − flow(L)| ${row.gd_vs_flow.toExponential(3)}, ` +
          `|GD − flow(L~)| ${row.gd_vs_modified_flow.toExponential(3)}`),
      }));
      results.push({ label: m.label, dir: m.dir, result });
    } finally {
      disposeBatch(batch);
    }
  }
  const summary = results.flatMap(({ label, result: r }) => [
    `${label}: loss ${r.loss.toFixed(4)}, ‖g‖ ${fmt(r.grad_norm, 4)}, ‖Hg‖ ${fmt(r.hvp_norm, 4)} (κ = ‖Hg‖/‖g‖ ${fmt(r.curvature)}), ` +
      `HVP radius ${r.hvp.radius} (estimates at neighbouring radii agree to ${fmt(r.hvp.agreement, 2)})`,
    '  h          |GD − flow(L)|   |GD − flow(L̃)|   (h²/2)‖Hg‖   local slopes (from the previous h)',
    ...r.rows.map((x, i) => {
      const prev = r.rows[i - 1];
      const local = prev ? `${logLogSlope([prev.h, x.h], [prev.gd_vs_flow, x.gd_vs_flow]).toFixed(2)}  ${logLogSlope([prev.h, x.h], [prev.gd_vs_modified_flow, x.gd_vs_modified_flow]).toFixed(2)}` : '';
      return `  ${String(x.h).padEnd(10)} ${x.gd_vs_flow.toExponential(3).padEnd(16)} ${x.gd_vs_modified_flow.toExponential(3).padEnd(16)} ${x.predicted_flow_gap.toExponential(3).padEnd(12)} ${local}`;
    }),
    `  fitted log-log slopes: flow of L ${r.slope_flow.toFixed(2)} (theory 2), flow of L̃ = L + (h/4)‖∇L‖² ${r.slope_modified_flow.toFixed(2)} (theory 3); ` +
      `${r.evaluations} gradient evaluations`,
  ]);
  const figures: AnalysisFigure[] = [{ file: 'modified_loss.svg', title: 'Distance of one GD step from the flows of L and of the modified loss L̃' }];
  const series: Series[] = results.flatMap(({ label, result: r }, i) => {
    const pre = results.length > 1 ? `${label}: ` : '';
    const at = (f: (x: typeof r.rows[number]) => number) => r.rows.map((x) => [x.h, f(x)] as const);
    const h0 = r.rows[0];
    const guide = (slope: number, y0: number) => r.rows.map((x) => [x.h, y0 * (x.h / h0.h) ** slope] as const);
    return [
      { name: `${pre}|GD − flow(L)|, slope ${r.slope_flow.toFixed(2)}`, points: at((x) => x.gd_vs_flow), markers: true },
      { name: `${pre}|GD − flow(L̃)|, slope ${r.slope_modified_flow.toFixed(2)}`, points: at((x) => x.gd_vs_modified_flow), markers: true },
      ...(i === 0 ? [
        { name: 'slope 2', points: guide(2, h0.gd_vs_flow), dashed: true, markers: false, color: '#999' },
        { name: 'slope 3', points: guide(3, h0.gd_vs_modified_flow), dashed: true, markers: false, color: '#555' },
      ] : []),
    ];
  });
  write(input, figures[0].file, lineChart({
    title: 'One gradient-descent step against the flows of L and L̃ = L + (h/4)‖∇L‖²', xLabel: 'step size h', yLabel: 'distance (parameter space)',
    series, logX: true, logY: true,
  }));
  write(input, 'modified_loss.json', `${JSON.stringify({ precision: 'float32 gradients, float64 positions and sums', models: results }, null, 2)}\n`);
  const r0 = results[0].result;
  return {
    what: 'modified-loss', summary, figures, data: 'modified_loss.json',
    facts: { slope_flow: r0.slope_flow, slope_modified_flow: r0.slope_modified_flow, grad_norm: r0.grad_norm, curvature: r0.curvature, hvp_radius: r0.hvp.radius },
  };
}

// ---- Lie bracket ---------------------------------------------------------------------------

interface BracketPoint { step: number; result: BracketResult; replicas: ReplicaStats }

function bracketAt(dir: string, batch: Seq2SeqBatch, s: AnalysisSettings): Omit<BracketPoint, 'step'> {
  const plan = requireFusionPlan(dir);
  const { config, params } = loadModel(dir);
  try {
    const field = lossField(config, params, batch);
    const result = lieBracket(field, plan, { radius: s.hvp_radius });
    // The same batch's gradient, for how alike the replicas' gradients are (self-fusion without noise: equal).
    const { grad } = field.at(new Float64Array(field.layout.size));
    const grads = Object.fromEntries(field.layout.names.map((n, i) => [n, grad.subarray(field.layout.offsets[i], field.layout.offsets[i] + field.layout.sizes[i])]));
    const values = Object.fromEntries(field.layout.names.map((n, i) => [n, field.theta0.subarray(field.layout.offsets[i], field.layout.offsets[i] + field.layout.sizes[i])]));
    return { result, replicas: replicaStats(plan, values, grads) };
  } finally {
    disposeParams(params);
  }
}

async function bracketAnalysis(input: AnalysisInput): Promise<AnalysisOutput> {
  need(input, 'either');
  const s = input.settings;
  const series: Array<{ label: string; points: BracketPoint[] }> = [];
  const targets = [
    ...input.models.map((m) => ({ label: m.label, points: [{ step: 0, dir: m.dir }] })),
    ...input.runs.map((r) => ({ label: r.label, points: everyNth(runPoints(r.dir), s.every) })),
  ];
  for (const t of targets) {
    if (t.points.length === 0) continue;
    const first = t.points[0].dir;
    const batch = await fixedBatch(first, readConfig(first), s, input.log);
    const points: BracketPoint[] = [];
    try {
      for (const p of t.points) {
        input.log?.(`${t.label}: step ${p.step} (${p.dir})`);
        points.push({ step: p.step, ...bracketAt(p.dir, batch, s) });
      }
    } finally {
      disposeBatch(batch);
    }
    series.push({ label: t.label, points });
  }
  const summary = series.flatMap(({ label, points }) => [
    `${label}:`,
    '  step     loss     ‖g‖        ‖[X_A,X_B]‖  /‖g‖²      /‖H(g_A,g_B)‖  replica grads ‖g_A−g_B‖/rms  HVP radius',
    ...points.map(({ step, result: r, replicas }) => {
      const p = r.pairs[0];
      return `  ${String(step).padEnd(8)} ${r.loss.toFixed(4)}   ${fmt(r.grad_norm).padEnd(10)} ${fmt(p?.bracket_norm).padEnd(12)} ${fmt(p?.relative_to_grad_squared).padEnd(10)} ` +
        `${fmt(p?.relative_to_hvp).padEnd(14)} ${fmt(replicas.grad_difference, 2).padEnd(29)} ${r.hvp.radius}`;
    }),
  ]);
  const figures: AnalysisFigure[] = [];
  const overTraining = series.filter((x) => x.points.length > 1);
  if (overTraining.length > 0) {
    figures.push({ file: 'bracket.svg', title: 'Lie bracket of the sources\' gradient fields over training' });
    write(input, 'bracket.svg', lineChart({
      title: '‖[X_A, X_B]‖ / ‖H·(g_A, g_B)‖ over training: the coupling between the parts', xLabel: 'step', yLabel: 'share of the curvature crossing between parts',
      series: overTraining.map((x) => ({ name: x.label, points: x.points.map((p) => [p.step, p.result.pairs[0]?.relative_to_hvp ?? NaN] as const) })),
    }));
  }
  write(input, 'bracket.json', `${JSON.stringify({ precision: 'float32 gradients, Hessian-vector products by fourth-order central differences', series }, null, 2)}\n`);
  const firstPoint = series[0]?.points[0];
  return {
    what: 'bracket', summary, figures, data: 'bracket.json',
    facts: {
      bracket_relative_to_grad_squared: firstPoint?.result.pairs[0]?.relative_to_grad_squared ?? null,
      bracket_relative_to_hvp: firstPoint?.result.pairs[0]?.relative_to_hvp ?? null,
      replica_grad_difference: firstPoint?.replicas.grad_difference ?? null,
    },
  };
}

// ---- replicas ------------------------------------------------------------------------------

interface ReplicaPoint { step: number; stats: ReplicaStats }

async function replicaPointsOf(target: AnalysisTarget, isRun: boolean, s: AnalysisSettings, log?: (line: string) => void): Promise<{ points: ReplicaPoint[]; from: string }> {
  const metrics = path.join(target.dir, METRICS_FILE);
  if (isRun && s.source !== 'checkpoints' && fs.existsSync(metrics)) {
    const logged = readProbeRecords(metrics, REPLICAS_RECORD);
    if (logged.length > 0 || s.source === 'log') {
      if (logged.length === 0) throw new UserError(`${metrics}: holds no replica statistics. Fix: train with track_replicas_every > 0, or use --source checkpoints`);
      // The model's figures are recomputed from the logged tensors', so logs of any version read alike.
      const points = logged.filter((r) => s.every <= 0 || r.step % s.every === 0)
        .map((r) => ({ step: r.step, stats: modelStats(r.tensors as Record<string, TensorReplicaStats>, (r.grad_difference as number | null) ?? null) }));
      return { from: 'the training log', points };
    }
  }
  const points = isRun ? everyNth(runPoints(target.dir), s.every) : [{ step: 0, dir: target.dir }];
  if (points.length === 0) return { from: 'checkpoints', points: [] };
  const batch = await fixedBatch(points[0].dir, readConfig(points[0].dir), s, log);
  try {
    const out: ReplicaPoint[] = [];
    for (const p of points) {
      log?.(`${target.label}: step ${p.step} (${p.dir})`);
      const plan = requireFusionPlan(p.dir);
      const { config, params } = loadModel(p.dir);
      try {
        const r = lossAndGrads(config, params, batch);
        try {
          out.push({ step: p.step, stats: replicaStatsOf(plan, params, r.grads) });
        } finally {
          r.loss.dispose();
          disposeParams(r.grads);
        }
      } finally {
        disposeParams(params);
      }
    }
    return { from: 'checkpoints', points: out };
  } finally {
    disposeBatch(batch);
  }
}

async function replicasAnalysis(input: AnalysisInput): Promise<AnalysisOutput> {
  need(input, 'either');
  const s = input.settings;
  const all: Array<{ label: string; from: string; points: ReplicaPoint[] }> = [];
  for (const m of input.models) all.push({ label: m.label, ...await replicaPointsOf(m, false, s, input.log) });
  for (const r of input.runs) all.push({ label: r.label, ...await replicaPointsOf(r, true, s, input.log) });
  const summary = all.flatMap(({ label, from, points }) => {
    if (points.length === 0) return [`${label}: no models to measure`];
    const a = points[0];
    const b = points[points.length - 1];
    const kinds = statsByKind(b.stats.tensors);
    return [
      `${label} (from ${from}, ${points.length} point${points.length > 1 ? 's' : ''}):`,
      `  replica distance ${fmt(a.stats.distance)} at step ${a.step} → ${fmt(b.stats.distance)} at step ${b.step}; ` +
        `gradient cosine ${fmt(a.stats.grad_cos)} → ${fmt(b.stats.grad_cos)}; off-diagonal blocks ${fmt(a.stats.off_diagonal)} → ${fmt(b.stats.off_diagonal)}`,
      `  by tensor kind at step ${b.step} (mean over layers): distance / gradient cosine / off-diagonal`,
      ...Object.entries(kinds).map(([k, v]) => `    ${k.padEnd(30)} ${fmt(v[0]).padEnd(8)} ${fmt(v[1]).padEnd(8)} ${fmt(v[2])}`),
    ];
  });
  const figures: AnalysisFigure[] = [];
  const chart = (file: string, title: string, yLabel: string, f: (x: ReplicaStats) => number | null, logY = false): void => {
    const series: Series[] = all.map((x) => ({ name: x.label, points: x.points.map((p) => [p.step, f(p.stats) ?? NaN] as const) }));
    const ys = series.flatMap((x) => x.points.map((p) => p[1])).filter(Number.isFinite);
    if (ys.length === 0) return;
    figures.push({ file, title });
    write(input, file, lineChart({ title, xLabel: 'step after fusion', yLabel, series, logY: logY && ys.every((y) => y > 0) }));
  };
  chart('replica_distance.svg', 'Distance between the replicas ‖B₁ − B₂‖ / rms‖Bᵢ‖ (whole model)', 'relative distance', (x) => x.distance, true);
  chart('replica_grad_cos.svg', 'Cosine between the replicas\' gradients (whole model)', 'gradient cosine', (x) => x.grad_cos);
  chart('replica_off_diagonal.svg', 'Off-diagonal blocks ‖W_ij‖ / ‖W‖ of block-diagonal weights', 'relative norm', (x) => x.off_diagonal);
  all.forEach((x, i) => {
    if (x.points.length < 2) return;
    const kinds = [...new Set(x.points.flatMap((p) => Object.keys(statsByKind(p.stats.tensors))))];
    const series: Series[] = kinds.map((k) => ({ name: k, points: x.points.map((p) => [p.step, statsByKind(p.stats.tensors)[k]?.[0] ?? NaN] as const) }))
      .filter((sr) => sr.points.some((p) => Number.isFinite(p[1])));
    const file = `replica_distance_by_kind_${i + 1}.svg`;
    figures.push({ file, title: `Replica distance by tensor kind: ${x.label}` });
    write(input, file, lineChart({ title: `Replica distance by tensor kind (mean over layers): ${x.label}`, xLabel: 'step after fusion', yLabel: 'relative distance', series, width: 760, height: 480 }));
  });
  write(input, 'replicas.json', `${JSON.stringify({ series: all }, null, 2)}\n`);
  const last = all[0]?.points.at(-1)?.stats;
  return {
    what: 'replicas', summary, figures, data: 'replicas.json',
    facts: { final_distance: last?.distance ?? null, final_grad_cos: last?.grad_cos ?? null, final_off_diagonal: last?.off_diagonal ?? null },
  };
}

// ---- heat maps -----------------------------------------------------------------------------

async function heatmapAnalysis(input: AnalysisInput): Promise<AnalysisOutput> {
  need(input, 'runs');
  const s = input.settings;
  const h = kernelHeatmap(input.runs.map((r) => ({ label: r.label, runDir: r.dir })), { tensor: s.tensor, window: s.window, columns: s.columns });
  const figures = [{ file: 'heatmap.svg', title: `${h.tensor} at checkpoints after fusion (Figure 5)` }];
  write(input, 'heatmap.svg', h.svg);
  write(input, 'heatmap.json', `${JSON.stringify({ tensor: h.tensor, steps: h.steps, runs: input.runs.map((r, i) => ({ ...r, distances: h.distances[i] })), limit: h.limit }, null, 2)}\n`);
  const summary = [
    `${h.tensor}: colour scale ±${fmt(h.limit)}; replica distance of the tensor at steps ${h.steps.join(', ')}:`,
    ...input.runs.map((r, i) => `  ${r.label.padEnd(24)} ${h.distances[i].map((d) => fmt(d, 2)).join('  ')}`),
  ];
  const lastOf = (i: number) => h.distances[i]?.filter((d): d is number => d !== null).at(-1) ?? null;
  return { what: 'heatmap', summary, figures, data: 'heatmap.json', facts: { tensor: h.tensor, ...Object.fromEntries(input.runs.map((r, i) => [`final_distance ${r.label}`, lastOf(i)])) } };
}
