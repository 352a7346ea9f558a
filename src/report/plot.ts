// Line charts as standalone SVG text: several series, axes with ticks and labels, a legend,
// linear or logarithmic axes. No dependencies, deterministic output (same input, same bytes),
// so figures can be cached and diffed.
import { escapeXml, textWidth } from './svg';

export interface Series {
  name: string;
  /** [x, y] pairs; drawn in the given order. Non-finite values (and x ≤ 0 on a log axis) are skipped. */
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS colour; by default the next colour of the palette. */
  color?: string;
  dashed?: boolean;
  /** Dots on the points; by default when the series has at most 40 points. */
  markers?: boolean;
}

export interface LineChart {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /**
   * Top of the y axis; lines above it are cut at the frame. Loss curves start near ln(vocab) and
   * would otherwise squash the part of the chart where arms differ.
   */
  yMax?: number;
  /** Pixels; default 640 × 400. */
  width?: number;
  height?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };
const FONT = 'font-family="sans-serif" font-size="12"';

/** The SVG document of a line chart. */
export function lineChart(chart: LineChart): string {
  const width = chart.width ?? 640;
  const height = chart.height ?? 400;
  const series = chart.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length],
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logX || x > 0) && (!chart.logY || y > 0)),
  }));
  const all = series.flatMap((s) => s.points);
  const plot = { x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top };
  const xAxis = makeAxis(all.map((p) => p[0]), chart.logX ?? false, plot.x0, plot.x1, false);
  const ys = all.map((p) => p[1]);
  const yAxis = makeAxis(chart.yMax === undefined ? ys : [...ys.filter((y) => y <= (chart.yMax as number)), chart.yMax], chart.logY ?? false, plot.y0, plot.y1, true);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<clipPath id="plot-area"><rect x="${plot.x0}" y="${plot.y1}" width="${plot.x1 - plot.x0}" height="${plot.y0 - plot.y1}"/></clipPath>`,
  ];
  if (chart.title) out.push(`<text x="${width / 2}" y="20" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(chart.title)}</text>`);
  for (const t of xAxis.ticks) {
    const x = num(xAxis.toPixel(t));
    out.push(`<line x1="${x}" y1="${plot.y1}" x2="${x}" y2="${plot.y0}" stroke="#e6e6e6"/>`,
      `<line x1="${x}" y1="${plot.y0}" x2="${x}" y2="${plot.y0 + 5}" stroke="black"/>`,
      `<text x="${x}" y="${plot.y0 + 18}" text-anchor="middle" ${FONT}>${formatTick(t)}</text>`);
  }
  for (const t of yAxis.ticks) {
    const py = yAxis.toPixel(t);
    const y = num(py);
    out.push(`<line x1="${plot.x0}" y1="${y}" x2="${plot.x1}" y2="${y}" stroke="#e6e6e6"/>`,
      `<line x1="${plot.x0 - 5}" y1="${y}" x2="${plot.x0}" y2="${y}" stroke="black"/>`,
      `<text x="${plot.x0 - 8}" y="${num(py + 4)}" text-anchor="end" ${FONT}>${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${plot.x0}" y="${plot.y1}" width="${plot.x1 - plot.x0}" height="${plot.y0 - plot.y1}" fill="none" stroke="black"/>`,
    `<text x="${(plot.x0 + plot.x1) / 2}" y="${height - 10}" text-anchor="middle" ${FONT}>${escapeXml(chart.xLabel)}</text>`,
    `<text x="14" y="${(plot.y0 + plot.y1) / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 14 ${(plot.y0 + plot.y1) / 2})">${escapeXml(chart.yLabel)}</text>`);
  out.push('<g clip-path="url(#plot-area)">');
  // Each series' points on the canvas: drawn here, and where the legend must not go.
  const onCanvas = series.map((s) => s.points.map(([x, y]) => [xAxis.toPixel(x), yAxis.toPixel(y)] as const));
  series.forEach((s, k) => {
    if (s.points.length === 0) return;
    const px = onCanvas[k].map(([x, y]) => [num(x), num(y)]);
    const d = px.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x} ${y}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (s.markers ?? s.points.length <= 40) {
      for (const [x, y] of px) out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${s.color}"/>`);
    }
  });
  // Where the lines run (points and 8 samples along each segment), for placing the legend.
  const pixels = onCanvas.flatMap((ps) => ps.flatMap((p, i) => (i === 0 ? [p] : Array.from({ length: 8 }, (_, k) => {
    const t = (k + 1) / 8;
    return [ps[i - 1][0] + t * (p[0] - ps[i - 1][0]), ps[i - 1][1] + t * (p[1] - ps[i - 1][1])] as const;
  }))));
  out.push('</g>', legend(series.filter((s) => s.name !== ''), plot, pixels), '</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The legend box, in the corner of the plot where it hides the least of the lines (top right on
 * a tie). Series without a name (e.g. the second bound of a ± band) get no entry.
 */
function legend(series: Array<Series & { color: string }>, plot: { x0: number; x1: number; y0: number; y1: number },
  pixels: ReadonlyArray<readonly [number, number]>): string {
  if (series.length === 0) return '';
  const width = 28 + Math.max(...series.map((s) => textWidth(s.name)));
  const height = 18 * series.length + 6;
  const corners = [[plot.x1 - width - 8, plot.y1 + 4], [plot.x1 - width - 8, plot.y0 - height - 4], [plot.x0 + 8, plot.y1 + 4], [plot.x0 + 8, plot.y0 - height - 4]];
  const hidden = corners.map(([x, y]) => pixels.filter(([px, py]) => px >= x - 4 && px <= x + width + 4 && py >= y - 4 && py <= y + height + 4).length);
  const [x, top] = corners[hidden.indexOf(Math.min(...hidden))];
  const rows = series.map((s, i) => {
    const y = top + 12 + 18 * i;
    return `<line x1="${x + 6}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 2"' : ''}/>` +
      `<text x="${x + 24}" y="${y}" ${FONT}>${escapeXml(s.name)}</text>`;
  });
  return [`<rect x="${x}" y="${top}" width="${width}" height="${height}" fill="white" fill-opacity="0.85" stroke="#999"/>`,
    ...rows].join('\n');
}

interface Axis {
  ticks: number[];
  toPixel(v: number): number;
}

function makeAxis(values: number[], log: boolean, from: number, to: number, pad: boolean): Axis {
  let lo = values.length ? Math.min(...values) : log ? 1 : 0;
  let hi = values.length ? Math.max(...values) : log ? 10 : 1;
  const f = log ? Math.log10 : (v: number) => v;
  if (lo === hi) {
    if (log) { lo /= 2; hi *= 2; } else { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  } else if (pad && !log) {
    const d = (hi - lo) * 0.05;
    lo -= d;
    hi += d;
  }
  const a = f(lo);
  const b = f(hi);
  return {
    ticks: log ? logTicks(lo, hi) : linearTicks(lo, hi),
    toPixel: (v) => from + ((f(v) - a) / (b - a)) * (to - from),
  };
}

/** About `target` round ticks (1, 2 or 5 times a power of ten apart) within [lo, hi]. */
export function linearTicks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) ticks.push(roundTo(k * step, step));
  return ticks;
}

/** Powers of ten within [lo, hi] (0 < lo); with 1–2–5 steps when the range spans less than two decades. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const mantissas = Math.log10(hi / lo) < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mantissas) {
      const v = roundTo(m * 10 ** e, 10 ** e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks;
}

/** Short labels for round numbers: 2e-6, 0.05, 2.5, 100, 20K, 1.5M, 4G, 2.5T (SI prefixes, as FLOP counts are written). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  for (const [scale, prefix] of [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M']] as const) {
    if (a >= scale) return `${trim(v / scale)}${prefix}`;
  }
  if (a >= 1e4) return `${trim(v / 1e3)}K`;
  // Small values (distances on a log axis) as 1e-6, 2e-7.
  if (a > 0 && a < 1e-3) return v.toExponential().replace(/\.?0*e/, 'e').replace('e-0', 'e-');
  return trim(v);
}

const trim = (v: number): string => String(Number(v.toPrecision(6)));
const roundTo = (v: number, step: number): number => Number((Math.round(v / step * 1e6) / 1e6 * step).toPrecision(12));
const num = (v: number): string => String(Math.round(v * 100) / 100);
