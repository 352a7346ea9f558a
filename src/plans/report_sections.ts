// Report sections for sweeps (the paper's Figure 4: final quality against the swept setting,
// e.g. the learning-rate offset after fusion) and for analysis jobs (docs/dynamics.md).
import * as path from 'node:path';
import { lineChart, PALETTE, type Series } from '../report/plot';
import { learningRate, type ScheduleSpec } from '../training/schedules';
import type { ArmSummary, MeanStd } from './arm_results';
import type { JobResult } from './job';
import type { PlanRun } from './runner';

/** The first sweep figure's file (`deepfusion run --help` names it). */
export const SWEEP_FIGURE = 'figure4_sweep.svg';

export interface SweepFigure { file: string; title: string; svg: string }

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const pm = (m: MeanStd, digits = 3): string => (m.n > 1 ? `${fmt(m.mean, digits)} ± ${fmt(m.std, digits)}` : fmt(m.mean, digits));

interface SweptGroup { arm: string; field: string; node: string; arms: ArmSummary[] }

function sweptGroups(arms: readonly ArmSummary[], run: PlanRun): SweptGroup[] {
  return run.plan.arms.filter((a) => a.sweep).map((a) => ({
    arm: a.name, field: a.sweep!.field, node: a.sweep!.node,
    arms: arms.filter((s) => s.arm === a.name && s.sweepValue !== undefined).sort((p, q) => (p.sweepValue as number) - (q.sweepValue as number)),
  })).filter((g) => g.arms.length > 0);
}

/** The learning rate of the swept train node's first step in each arm (its schedule at step 1 + offset). */
function firstStepRates(group: SweptGroup, run: PlanRun): Array<number | undefined> {
  return group.arms.map((a) => {
    const instance = run.expansion.arms.find((x) => x.name === a.name);
    const id = instance?.members[0]?.find((j) => run.expansion.jobs.find((x) => x.id === j)?.node === group.node);
    const job = run.expansion.jobs.find((x) => x.id === id);
    const s = job?.kind === 'train' ? job.settings as { schedule?: ScheduleSpec; lr_offset?: number } : undefined;
    return s?.schedule ? learningRate(s.schedule, 1, s.lr_offset ?? 0) : undefined;
  });
}

/** A sweep's mean line and, with repeats, its ± std bounds: dashed, in the mean's colour, one legend entry. */
function meanStdSeries(name: string, points: Array<[number, MeanStd]>, logX: boolean, index: number): Series[] {
  const ok = points.filter(([x, m]) => Number.isFinite(m.mean) && (!logX || x > 0));
  const at = (f: (m: MeanStd) => number) => ok.map(([x, m]) => [x, f(m)] as const);
  const color = PALETTE[index % PALETTE.length];
  return [
    { name: `${name} (mean)`, points: at((m) => m.mean), markers: true, color },
    ...(ok.some(([, m]) => m.n > 1) ? [
      { name: `${name} ± std`, points: at((m) => m.mean + m.std), dashed: true, markers: false, color },
      { name: '', points: at((m) => m.mean - m.std), dashed: true, markers: false, color },
    ] : []),
  ];
}

/**
 * Figure 4: final validation loss against the swept value; against the learning rate of the
 * first step when a train node's schedule is swept (offsets map to rates); and each score the
 * arms report (e.g. a fine-tuning suite score) against the swept value.
 */
export function sweepFigures(arms: readonly ArmSummary[], run: PlanRun): SweepFigure[] {
  const groups = sweptGroups(arms, run);
  if (groups.length === 0) return [];
  const field = groups.map((g) => g.field).join(', ');
  const figures: SweepFigure[] = [{
    file: SWEEP_FIGURE, title: `final loss against ${field}`,
    svg: lineChart({
      title: `Final validation loss against ${field} (Figure 4)`, xLabel: field, yLabel: 'final validation loss',
      series: groups.flatMap((g, i) => meanStdSeries(g.arm, g.arms.map((a) => [a.sweepValue as number, a.finalLoss]), false, i)),
    }),
  }];
  const rated = groups.map((g) => ({ g, rates: firstStepRates(g, run) }))
    .filter(({ rates }) => rates.every((r) => r !== undefined) && new Set(rates).size > 1);
  if (rated.length > 0) {
    figures.push({
      file: 'figure4_sweep_lr.svg', title: 'final loss against the learning rate of the first step after fusion',
      svg: lineChart({
        title: 'Final validation loss against the learning rate right after fusion (Figure 4)', xLabel: 'learning rate of the first step (log)',
        yLabel: 'final validation loss', logX: true,
        series: rated.flatMap(({ g, rates }, k) => meanStdSeries(g.arm, g.arms.map((a, i) => [rates[i] as number, a.finalLoss]), true, k)),
      }),
    });
  }
  const scores = [...new Set(groups.flatMap((g) => g.arms.flatMap((a) => Object.keys(a.scores ?? {}))))].sort();
  scores.forEach((score, i) => {
    figures.push({
      file: `figure4_sweep_score_${i + 1}.svg`, title: `${score} against ${field}`,
      svg: lineChart({
        title: `${score} against ${field} (Figure 4)`, xLabel: field, yLabel: score,
        series: groups.flatMap((g, i) => meanStdSeries(g.arm, g.arms.filter((a) => a.scores?.[score]).map((a) => [a.sweepValue as number, a.scores[score]]), false, i)),
      }),
    });
  });
  return figures;
}

/** The sweep's table: each value's final loss (and scores), the best value, and each one's distance from it. */
export function sweepSection(arms: readonly ArmSummary[], run: PlanRun): string[] {
  return sweptGroups(arms, run).flatMap((g) => {
    const rates = firstStepRates(g, run);
    const scores = [...new Set(g.arms.flatMap((a) => Object.keys(a.scores ?? {})))].sort();
    const best = g.arms.reduce((b, a) => (a.finalLoss.mean < b.finalLoss.mean ? a : b));
    // The standard error of a difference of two means over repeats.
    const se = (a: MeanStd, b: MeanStd): number => Math.sqrt((a.n > 1 ? a.std ** 2 / a.n : 0) + (b.n > 1 ? b.std ** 2 / b.n : 0));
    const rows = g.arms.map((a, i) => {
      const d = a.finalLoss.mean - best.finalLoss.mean;
      const e = se(a.finalLoss, best.finalLoss);
      return `| ${a.sweepValue} | ${rates[i] === undefined ? '' : (rates[i] as number).toPrecision(3)} | ${pm(a.finalLoss)} | ${pm(a.finalAccuracy)} | ` +
        `${scores.map((sc) => (a.scores?.[sc] ? pm(a.scores[sc]) : '–')).join(' | ')}${scores.length ? ' | ' : ''}` +
        `${a === best ? '**best**' : `+${fmt(d)}${e > 0 ? ` ± ${fmt(e)} (${fmt(d / e, 1)} s.e.)` : ''}`} |`;
    });
    return [
      `### ${g.arm}: ${g.field}`,
      '',
      `Best: **${g.field} = ${best.sweepValue}**, final validation loss ${pm(best.finalLoss)}` +
        `${best.finalLoss.n > 1 ? ` over ${best.finalLoss.n} repeats` : ''}. The last column is each value's final loss minus the best's, ` +
        '± the standard error of that difference over the repeats.',
      '',
      `| ${g.field} | learning rate, first step | final val loss | final val accuracy | ${scores.map((s) => `${s} | `).join('')}vs best |`,
      `| --- | --- | --- | --- | ${scores.map(() => '--- | ').join('')}--- |`,
      ...rows,
      '',
    ];
  });
}

/** Each analysis job's numbers and figures (figures linked inside the job's directory). */
export function analysesSection(run: PlanRun, label: (id: string) => string): string[] {
  const jobs = run.expansion.jobs.filter((j) => {
    const r = run.results.get(j.id);
    return r && ((r.summary?.length ?? 0) > 0 || (r.figures?.length ?? 0) > 0);
  });
  return jobs.flatMap((j) => {
    const r = run.results.get(j.id) as JobResult;
    const dir = path.join('jobs', j.key);
    return [
      `### ${j.id}: ${label(j.id)}`,
      '',
      ...(r.summary?.length ? ['```', ...r.summary, '```', ''] : []),
      ...(r.figures ?? []).map((f) => `![${f.title}](${path.join(dir, f.file).split(path.sep).join('/')})`),
      '',
    ];
  });
}
