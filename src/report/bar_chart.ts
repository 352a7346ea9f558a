// Grouped bar charts with error bars as standalone SVG text: one group per category (a task, an
// average), one bar per series (an arm) in each, a whisker of ± the error, and an optional
// reference mark per group (a baseline). Deterministic output, no dependencies.
import { linearTicks, formatTick, PALETTE } from './plot';
import { escapeXml, textWidth } from './svg';

export interface BarGroup {
  label: string;
  /** One per series, in the series' order; a non-finite value draws no bar. */
  values: number[];
  /** ± error per series (e.g. a standard deviation); absent or 0: no whisker. */
  errors?: number[];
  /** A value marked across the group by a dashed line (e.g. the majority-class baseline). */
  reference?: number;
}

export interface BarChart {
  title?: string;
  yLabel: string;
  /** The legend's names, one per bar of a group. */
  series: string[];
  groups: BarGroup[];
  /** What the dashed reference marks stand for, in the legend. */
  referenceLabel?: string;
  /** Pixels; default: wide enough for the groups, 400 high. */
  width?: number;
  height?: number;
}

const MARGIN = { left: 64, right: 16, top: 36, bottom: 56 };
const FONT = 'font-family="sans-serif" font-size="12"';
const num = (v: number): string => String(Math.round(v * 100) / 100);

/** The SVG document of a grouped bar chart. The y axis starts at 0 unless a value is negative. */
export function barChart(chart: BarChart): string {
  const n = chart.series.length;
  const groupWidth = Math.max(48, 18 * n + 24);
  const width = chart.width ?? Math.max(480, MARGIN.left + MARGIN.right + groupWidth * chart.groups.length);
  const height = chart.height ?? 400;
  // The legend above the plot: as many entries a row as their longest name lets fit, so long arm
  // names never run into each other.
  const labels = [...chart.series, ...(chart.referenceLabel ? [chart.referenceLabel] : [])];
  const column = 16 + Math.max(0, ...labels.map(textWidth)) + 12;
  const perRow = Math.max(1, Math.floor((width - MARGIN.left - MARGIN.right) / column));
  const plot = { x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top + 18 * Math.ceil(labels.length / perRow) };
  const tops = chart.groups.flatMap((g) => [
    ...g.values.map((v, i) => v + Math.abs(g.errors?.[i] ?? 0)), ...g.values.map((v, i) => v - Math.abs(g.errors?.[i] ?? 0)),
    ...(g.reference !== undefined ? [g.reference] : []),
  ]).filter(Number.isFinite);
  const lo = Math.min(0, ...tops);
  const hi = Math.max(lo + 1e-9, ...tops) * 1.05 || 1;
  const ticks = linearTicks(lo, hi);
  const yMax = Math.max(hi, ticks.at(-1) ?? hi);
  const yMin = Math.min(lo, ticks[0] ?? lo);
  const toY = (v: number): number => plot.y0 - ((v - yMin) / (yMax - yMin)) * (plot.y0 - plot.y1);
  const slot = (plot.x1 - plot.x0) / Math.max(1, chart.groups.length);
  const barWidth = Math.min(28, (slot - 16) / Math.max(1, n));

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (chart.title) out.push(`<text x="${width / 2}" y="20" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(chart.title)}</text>`);
  for (const t of ticks) {
    const y = num(toY(t));
    out.push(`<line x1="${plot.x0}" y1="${y}" x2="${plot.x1}" y2="${y}" stroke="#e6e6e6"/>`,
      `<text x="${plot.x0 - 8}" y="${num(toY(t) + 4)}" text-anchor="end" ${FONT}>${formatTick(t)}</text>`);
  }
  chart.groups.forEach((g, gi) => {
    const left = plot.x0 + gi * slot + (slot - barWidth * n) / 2;
    g.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const x = left + i * barWidth;
      const [a, b] = [toY(Math.max(v, 0)), toY(Math.min(v, 0))];
      out.push(`<rect x="${num(x + 1)}" y="${num(a)}" width="${num(barWidth - 2)}" height="${num(Math.max(0.5, b - a))}" fill="${PALETTE[i % PALETTE.length]}"/>`);
      const e = Math.abs(g.errors?.[i] ?? 0);
      if (e > 0 && Number.isFinite(e)) {
        const cx = num(x + barWidth / 2);
        out.push(`<path d="M${cx} ${num(toY(v + e))} L${cx} ${num(toY(v - e))} M${num(x + barWidth / 2 - 4)} ${num(toY(v + e))} ` +
          `L${num(x + barWidth / 2 + 4)} ${num(toY(v + e))} M${num(x + barWidth / 2 - 4)} ${num(toY(v - e))} L${num(x + barWidth / 2 + 4)} ${num(toY(v - e))}" stroke="black" fill="none"/>`);
      }
    });
    if (g.reference !== undefined && Number.isFinite(g.reference)) {
      const y = num(toY(g.reference));
      out.push(`<line x1="${num(left - 4)}" y1="${y}" x2="${num(left + barWidth * n + 4)}" y2="${y}" stroke="black" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    }
    out.push(`<text x="${num(plot.x0 + (gi + 0.5) * slot)}" y="${plot.y0 + 18}" text-anchor="middle" ${FONT}>${escapeXml(g.label)}</text>`);
  });
  out.push(`<line x1="${plot.x0}" y1="${num(toY(0))}" x2="${plot.x1}" y2="${num(toY(0))}" stroke="black"/>`,
    `<line x1="${plot.x0}" y1="${plot.y1}" x2="${plot.x0}" y2="${plot.y0}" stroke="black"/>`,
    `<text x="14" y="${(plot.y0 + plot.y1) / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 14 ${(plot.y0 + plot.y1) / 2})">${escapeXml(chart.yLabel)}</text>`);
  const entries = [...chart.series.map((s, i) => ({ s, mark: `<rect width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>` })),
    ...(chart.referenceLabel ? [{ s: chart.referenceLabel, mark: '<line x1="0" y1="6" x2="12" y2="6" stroke="black" stroke-dasharray="4 2"/>' }] : [])];
  entries.forEach((e, i) => {
    const x = num(plot.x0 + (i % perRow) * column);
    const y = MARGIN.top + 18 * Math.floor(i / perRow) - 8;
    out.push(`<g transform="translate(${x} ${y})">${e.mark}<text x="16" y="11" ${FONT}>${escapeXml(e.s)}</text></g>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
