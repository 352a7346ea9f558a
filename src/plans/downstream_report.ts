// The report's downstream part (the paper's Figure 3): each arm's final model fine-tuned on
// labelled tasks, the suite average and every task's test score (mean ± std over repeats), the
// majority-class baseline, a verdict against the baseline arm, and a bar chart with error bars.
import { barChart } from '../report/bar_chart';
import type { ArmSummary, DownstreamSummary, MeanStd } from './arm_results';

export const DOWNSTREAM_FIGURE = 'figure3_downstream.svg';

const score = (m: MeanStd): string => (!Number.isFinite(m.mean) ? '–' : m.n > 1 ? `${(100 * m.mean).toFixed(1)} ± ${(100 * m.std).toFixed(1)}` : (100 * m.mean).toFixed(1));

interface Row { arm: ArmSummary; d: DownstreamSummary; name: string }

function rowsOf(arms: ArmSummary[]): Row[] {
  const several = arms.some((a) => a.downstream.length > 1);
  const name = (arm: ArmSummary, d: DownstreamSummary): string =>
    d.init === 'random' ? `${arm.name}, random init` : several ? `${arm.name} · ${d.node}` : arm.name;
  return arms.flatMap((arm) => arm.downstream.map((d) => ({ arm, d, name: name(arm, d) })));
}

const pretrained = (r: Row): boolean => r.d.init !== 'random';

/** How an arm's suite average compares with the baseline's: beyond both spreads, or within them. */
export function compareScores(a: MeanStd, base: MeanStd): 'beat' | 'matched' | 'fell short' {
  const spread = Math.sqrt(a.std ** 2 + base.std ** 2);
  const d = a.mean - base.mean;
  if (d > spread) return 'beat';
  return d < -spread ? 'fell short' : 'matched';
}

function verdict(rows: Row[], baseline: string | undefined): string[] {
  const lines: string[] = [];
  // Arms are compared on the same suite (each arm may have its own finetune node).
  for (const suite of new Set(rows.map((r) => r.d.suite))) {
    const base = rows.find((r) => r.d.suite === suite && r.arm.name === baseline && pretrained(r));
    if (!base) continue;
    const of = rows.filter((r) => r.d.suite === suite && r.arm !== base.arm && pretrained(r));
    lines.push(`Fine-tuned on suite ${base.d.suite}, baseline **${base.arm.name}** averages ${score(base.d.average)} (majority-class baseline ${(100 * base.d.majorityAverage).toFixed(1)}).`);
    for (const r of of) {
      const c = compareScores(r.d.average, base.d.average);
      const how = c === 'beat' ? 'beat it' : c === 'matched' ? 'matched it (the difference is within the repeats\' spread)' : 'fell short of it';
      lines.push(`- **${r.arm.name}** ${how}: ${score(r.d.average)}${r.d.average.n < 2 ? ' (one repeat: no spread to judge by)' : ''}.`);
    }
  }
  // The sanity check that the suite measures pre-training at all: an arm's model against fresh
  // weights of its shape, fine-tuned alike (a finetune node with init: random).
  for (const fresh of rows.filter((r) => !pretrained(r))) {
    const trained = rows.find((r) => r.arm === fresh.arm && r.d.suite === fresh.d.suite && pretrained(r));
    if (!trained) continue;
    const c = compareScores(trained.d.average, fresh.d.average);
    const how = c === 'beat' ? 'beat them, beyond the repeats\' spread' : c === 'matched' ? 'did not beat them beyond the repeats\' spread' : 'fell short of them';
    lines.push(`- Sanity check: **${fresh.arm.name}** with random weights of the same shape averages ${score(fresh.d.average)}; pre-trained, it ${how} (${score(trained.d.average)}).`);
  }
  return lines;
}

/** The report's lines and figure for the arms' downstream scores; empty when no finetune node reads an arm. */
export function downstreamSection(arms: ArmSummary[], baseline: string | undefined): { lines: string[]; figure?: string } {
  const rows = rowsOf(arms);
  if (rows.length === 0) return { lines: [] };
  const tasks = rows[0].d.tasks;
  const contaminated = tasks.filter((t) => t.contaminated).map((t) => t.task);
  const repeats = Math.max(...rows.map((r) => r.d.average.n));
  const head = ['arm', 'suite average', ...tasks.map((t) => `${t.task}${t.contaminated ? ' *' : ''} (${t.metrics.join('+')})`)];
  const table = [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.name} | ${score(r.d.average)} | ${tasks.map((t) => score(r.d.tasks.find((x) => x.task === t.task)?.score ?? { mean: NaN, std: NaN, n: 0 })).join(' | ')} |`),
    `| majority class | ${(100 * rows[0].d.majorityAverage).toFixed(1)} | ${tasks.map((t) => (100 * t.majority).toFixed(1)).join(' | ')} |`,
  ];
  const lines = [
    `## Downstream tasks (Figure 3)${repeats > 1 ? ` (mean ± std over ${repeats} repeats)` : ''}`,
    '',
    ...verdict(rows, baseline),
    '',
    ...table,
    '',
    'Each arm\'s final model fine-tuned on labelled tasks, text to text as T5 does it (`deepfusion finetune`); scores ×100 on ' +
      'each task\'s test split, from the model of the best validation score. The suite average is the mean of the task scores' +
      (contaminated.length ? `, without ${contaminated.join(', ')} (*: its text is in the default pre-training corpus, so its score is shown but not averaged).` : '.') +
      ' Fine-tuning costs are listed with the jobs below; they are not part of any arm\'s training cost.',
    '',
    `![downstream scores](${DOWNSTREAM_FIGURE})`,
    '',
  ];
  const groups = [...tasks.filter((t) => !t.contaminated), ...tasks.filter((t) => t.contaminated)].map((t) => {
    const scores = rows.map((r) => r.d.tasks.find((x) => x.task === t.task)?.score);
    return { label: `${t.task}${t.contaminated ? ' *' : ''}`, values: scores.map((s) => 100 * (s?.mean ?? NaN)), errors: scores.map((s) => 100 * (s?.std ?? 0)), reference: 100 * t.majority };
  });
  groups.unshift({ label: 'average', values: rows.map((r) => 100 * r.d.average.mean), errors: rows.map((r) => 100 * r.d.average.std), reference: 100 * rows[0].d.majorityAverage });
  const figure = barChart({
    title: `Fine-tuned on suite ${rows[0].d.suite}: test scores${repeats > 1 ? `, mean ± std over ${repeats} repeats` : ''} (Figure 3)`,
    yLabel: 'test score ×100', series: rows.map((r) => r.name), groups, referenceLabel: 'majority class',
  });
  return { lines, figure };
}
