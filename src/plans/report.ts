// The report of a finished plan: report.md (the arms' table, the verdict against the baseline,
// every job's cost), results.json, and SVG figures — validation loss against training FLOPs and
// against wall time (the paper's Figure 1), the plan's graph (Figure 2), and final loss against
// the swept setting (Figure 4) when the plan sweeps one.
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic';
import { graphFigure, type GraphLink, type GraphNode } from '../report/graph_figure';
import { lineChart, type Series } from '../report/plot';
import { analysesSection, SWEEP_FIGURE, sweepFigures, sweepSection } from './report_sections';
import { summarizeArms, type ArmSummary, type CurvePoint, type MeanStd } from './arm_results';
import { DOWNSTREAM_FIGURE, downstreamSection } from './downstream_report';
import type { JobResult, NodeKinds } from './job';
import type { PlanRun } from './runner';

export const REPORT_FILE = 'report.md';
export const RESULTS_FILE = 'results.json';
export const FIGURES = {
  lossVsFlops: 'figure1_loss_vs_flops.svg',
  lossVsTime: 'figure1_loss_vs_time.svg',
  accuracyVsFlops: 'figure1_accuracy_vs_flops.svg',
  graph: 'figure2_graph.svg',
  sweep: SWEEP_FIGURE,
};

export interface ReportContext {
  backend: string;
  kinds: NodeKinds;
  /** When the run finished (ISO); part of the report's header. */
  finishedAt: string;
}

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const pm = (m: MeanStd, digits = 3): string => (m.n > 1 ? `${fmt(m.mean, digits)} ± ${fmt(m.std, digits)}` : fmt(m.mean, digits));
const flops = (x: number): string => (Number.isFinite(x) ? x.toExponential(2) : '–');
const seconds = (x: number): string => (x >= 120 ? `${(x / 60).toFixed(1)} min` : `${x.toFixed(1)} s`);

/** The mean curve over repeats (point by point; repeats have the same evaluation steps). */
export function meanCurve(curves: CurvePoint[][]): CurvePoint[] {
  const n = Math.min(...curves.map((c) => c.length));
  return Array.from({ length: n }, (_, i) => {
    const pts = curves.map((c) => c[i]);
    const avg = (f: (p: CurvePoint) => number) => pts.reduce((s, p) => s + f(p), 0) / pts.length;
    return { ...pts[0], flops: avg((p) => p.flops), seconds: avg((p) => p.seconds), loss: avg((p) => p.loss), accuracy: avg((p) => p.accuracy) };
  });
}

function verdict(arms: ArmSummary[], baseline: string | undefined): string[] {
  const base = arms.find((a) => a.name === baseline);
  if (!base) return ['No baseline arm is named in the plan, so arms are compared by their numbers only.'];
  const lines = [`Baseline **${base.name}** ends at validation loss ${pm(base.finalLoss)} after ${flops(base.flops.mean)} training FLOPs.`];
  for (const a of arms) {
    if (a === base || !a.flopsToBaseline) continue;
    const { reached, repeats } = a.flopsToBaseline;
    if (reached.length === repeats && repeats > 0) {
      const mean = reached.reduce((s, x) => s + x, 0) / reached.length;
      const ratio = mean / base.flops.mean;
      lines.push(`- **${a.name}** reached the baseline's final loss in every repeat, after ${flops(mean)} FLOPs on average: ` +
        `${(100 * ratio).toFixed(0)}% of the baseline's compute (${ratio < 1 ? 'less' : 'more'} compute).`);
    } else if (reached.length > 0) {
      lines.push(`- **${a.name}** reached the baseline's final loss in ${reached.length} of ${repeats} repeats; ` +
        `it ends at ${pm(a.finalLoss)} after ${flops(a.flops.mean)} FLOPs.`);
    } else {
      lines.push(`- **${a.name}** did not reach the baseline's final loss: it ends at ${pm(a.finalLoss)} after ` +
        `${flops(a.flops.mean)} FLOPs (${(100 * a.flops.mean / base.flops.mean).toFixed(0)}% of the baseline's compute).`);
    }
  }
  return lines;
}

function curveSeries(arms: ArmSummary[], x: (p: CurvePoint) => number, y: (p: CurvePoint) => number): Series[] {
  return arms.map((a) => ({ name: a.name, points: meanCurve(a.curves).map((p) => [x(p), y(p)] as const) }));
}

function graphOf(run: PlanRun, kinds: NodeKinds): string {
  const jobs = run.expansion.jobs.filter((j) => j.repeat === 0);
  const widths = [...new Set(jobs.map((j) => Number(run.results.get(j.id)?.facts.d_model ?? 0)))].sort((a, b) => a - b);
  const shades = ['#e8f1fb', '#cfe1f6', '#a9c9ee', '#86b1e3', '#6497d6'];
  const nodes: GraphNode[] = jobs.map((j) => {
    const d = Number(run.results.get(j.id)?.facts.d_model ?? 0);
    return {
      id: j.id, title: j.id.replace(/@0$/, ''),
      detail: `${kinds[j.kind]?.label(j.settings) ?? j.kind}${d ? ` · d ${d}` : ''}`,
      fill: shades[Math.min(shades.length - 1, widths.indexOf(d))],
    };
  });
  const links: GraphLink[] = jobs.flatMap((j) => j.inputs.map((i): GraphLink => ({
    from: i, to: j.id,
    kind: j.kind === 'fuse' ? 'fuse' : j.kind === 'selfFuse' ? 'self-fuse' : j.kind === 'train' ? 'continue' : 'read',
  })));
  return graphFigure(nodes, links, `${run.plan.name}: jobs (fusions as links, self-fusion as a double link)`);
}

/**
 * The highest loss after training began: the untrained step-0 losses (about ln(vocab)) are off the
 * chart, so the axis spans the range in which the arms are compared.
 */
function lossAxisTop(arms: ArmSummary[]): number | undefined {
  const trained = arms.flatMap((a) => a.curves.flat()).filter((p) => p.flops > 0).map((p) => p.loss);
  return trained.length ? Math.max(...trained) : undefined;
}

/** Writes report.md, results.json and the figures into the run's directory; returns the summaries. */
export function writeReport(run: PlanRun, ctx: ReportContext): ArmSummary[] {
  const arms = summarizeArms(run.expansion.arms, run.expansion.jobs, run.results, run.plan.baseline);
  const out = (name: string, text: string) => writeFileAtomic(path.join(run.outDir, name), text);
  const yMax = lossAxisTop(arms);
  out(FIGURES.lossVsFlops, lineChart({
    title: 'Validation loss against training FLOPs (Figure 1)', xLabel: 'training FLOPs (all of the arm\'s jobs)', yLabel: 'validation loss',
    series: curveSeries(arms, (p) => p.flops, (p) => p.loss), yMax,
  }));
  out(FIGURES.lossVsTime, lineChart({
    title: 'Validation loss against wall time, independent jobs in parallel (Figure 1)', xLabel: 'seconds', yLabel: 'validation loss',
    series: curveSeries(arms, (p) => p.seconds, (p) => p.loss), yMax,
  }));
  out(FIGURES.accuracyVsFlops, lineChart({
    title: 'Validation token accuracy against training FLOPs (Figure 1)', xLabel: 'training FLOPs', yLabel: 'validation accuracy',
    series: curveSeries(arms, (p) => p.flops, (p) => p.accuracy),
  }));
  out(FIGURES.graph, graphOf(run, ctx.kinds));
  const sweeps = sweepFigures(arms, run);
  for (const f of sweeps) out(f.file, f.svg);
  const label = (id: string): string => {
    const j = run.expansion.jobs.find((x) => x.id === id);
    return j ? ctx.kinds[j.kind]?.label(j.settings) ?? j.kind : id;
  };
  const sweepLines = sweepSection(arms, run);
  const analysisLines = analysesSection(run, label);
  const downstream = downstreamSection(arms, run.plan.baseline);
  if (downstream.figure) out(DOWNSTREAM_FIGURE, downstream.figure);

  const plan = run.plan;
  // Jobs a queue placed name their worker (docs/distributed.md).
  const placed = run.expansion.jobs.some((j) => run.results.get(j.id)?.worker !== undefined);
  const jobRows = run.expansion.jobs.map((j) => {
    const r = run.results.get(j.id) as JobResult;
    const last = r.evals.at(-1);
    const err = r.facts.logits_relative_error;
    const note = typeof err === 'number' ? `fused logits vs Σ wᵢ·sourceᵢ: rel. error ${err.toExponential(1)}`
      : r.downstream ? `suite ${r.downstream.suite} average ${fmt(100 * r.downstream.average, 1)}` : '';
    return `| ${j.id} | ${ctx.kinds[j.kind]?.label(j.settings) ?? j.kind} | ${r.steps} | ${flops(r.flops)} | ${seconds(r.seconds)} | ` +
      `${r.peak_rss_mb} MB | ${last ? fmt(last.val_loss) : ''} | ${note} |` +
      `${placed ? ` ${r.worker ?? ''} |` : ''}`;
  });
  const armRows = arms.map((a) => {
    const reach = a.flopsToBaseline;
    const reachText = !reach ? '' : reach.reached.length === 0 ? 'not reached'
      : `${flops(reach.reached.reduce((s, x) => s + x, 0) / reach.reached.length)}${reach.reached.length < reach.repeats ? ` (${reach.reached.length}/${reach.repeats} repeats)` : ''}`;
    return `| ${a.name} | ${pm(a.finalLoss)} | ${pm(a.finalAccuracy)} | ${flops(a.flops.mean)} | ${seconds(a.machineSeconds.mean)} | ` +
      `${seconds(a.criticalSeconds.mean)} | ${fmt(a.nodeSteps.mean, 0)} | ${reachText} | ${a.peakRssMb} MB |`;
  });
  const report = [
    `# ${plan.name}`,
    '',
    plan.description,
    '',
    `Plan \`${path.basename(plan.file)}\`, ${plan.repeats} repeat${plan.repeats > 1 ? 's' : ''} (seeds shifted by 1000 per repeat), ` +
      `finished ${ctx.finishedAt} on ${os.availableParallelism()} cores (${ctx.backend}). Data: corpus ${plan.data.corpus}, ` +
      `tokenizer ${plan.data.tokenizer} (${plan.data.vocab_size} ids), ${plan.data.input_length} input tokens, ` +
      `${plan.data.eval_batches}×${plan.data.eval_batch_size} validation examples.`,
    '',
    '## Verdict',
    '',
    ...verdict(arms, plan.baseline),
    '',
    `## Arms${plan.repeats > 1 ? ` (mean ± std over ${plan.repeats} repeats)` : ''}`,
    '',
    '| arm | final val loss | final val accuracy | training FLOPs | machine time | wall time (parallel) | node-steps | FLOPs to baseline loss | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...armRows,
    '',
    'An arm is its final node and every node it was grown from. *Training FLOPs* add up every job of the arm; ' +
      '*machine time* adds their wall times; *wall time (parallel)* is the critical path when independent jobs run ' +
      'at once (the small models of a fusion train in parallel). *FLOPs to baseline loss* is where the arm\'s validation ' +
      'curve first reaches the baseline\'s final loss (linear interpolation between evaluations of the same job; where it is first reached at the first evaluation of a job, e.g. right after a fusion, that point).',
    '',
    ...downstream.lines,
    '## Figures',
    '',
    `![validation loss against FLOPs](${FIGURES.lossVsFlops})`,
    `![validation loss against wall time](${FIGURES.lossVsTime})`,
    `![validation accuracy against FLOPs](${FIGURES.accuracyVsFlops})`,
    `![plan graph](${FIGURES.graph})`,
    ...sweeps.map((f) => `![${f.title}](${f.file})`),
    '',
    ...(sweepLines.length ? ['## Sweep', '', ...sweepLines] : []),
    ...(analysisLines.length ? ['## Analyses', '', 'Growth-dynamics measurements (docs/dynamics.md).', '', ...analysisLines] : []),
    '## Jobs',
    '',
    `| job | what | steps | training FLOPs | wall time | peak RSS | final val loss | notes |${placed ? ' worker |' : ''}`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |${placed ? ' --- |' : ''}`,
    ...jobRows,
    '',
    '## How cost is counted',
    '',
    'Training FLOPs of a job = steps × FLOPs of one step. One step\'s FLOPs count every matrix multiplication ' +
      '(a [m, k]·[k, n] product is 2·m·n·k) of the forward pass over batch × accumulation sequences of the plan\'s ' +
      'input length and the span-corruption target length — attention projections, attention scores and context, ' +
      'feed-forward, cross-attention and the output layer — times 3 for forward plus backward (`src/model/flops.ts`). ' +
      'Fusion and evaluation cost no training FLOPs (their wall time is listed). Peak RSS is that of the worker process.',
    '',
  ].join('\n');
  out(REPORT_FILE, report);
  const jobs = Object.fromEntries(run.expansion.jobs.map((j) => [j.id, run.results.get(j.id)]));
  out(RESULTS_FILE, `${JSON.stringify({ plan: plan.name, arms, jobs }, null, 2)}\n`);
  return arms;
}
