// Grids of heat maps as one standalone SVG (the paper's Figure 5: a weight matrix at several
// points of training, one row per run): every panel is a small PNG embedded in the SVG, drawn
// with square pixels, on one shared diverging colour scale with a colour bar. Lines inside each
// panel mark block boundaries (which source a block came from). Deterministic output.
import { encodePng } from './png';
import { escapeXml, textWidth } from './svg';

export interface HeatPanel {
  /** rows × cols values, row-major. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  /** One short line under the panel. */
  caption?: string;
  /** Block boundaries of this panel (default: the grid's). */
  rowBreaks?: number[];
  colBreaks?: number[];
}

export interface HeatmapGrid {
  title: string;
  /** A line under the title (what the rows and columns of a panel are). */
  note?: string;
  /** Left of each row of panels (e.g. the run). */
  rowLabels: string[];
  /** Above each column of panels (e.g. the step). */
  colLabels: string[];
  /** [row][col]; null leaves the place empty. */
  panels: Array<Array<HeatPanel | null>>;
  /** Block boundaries drawn in every panel: after these many rows / columns. */
  rowBreaks?: number[];
  colBreaks?: number[];
  /** The colour scale spans ±limit; default the 99th percentile of |value| over all panels. */
  limit?: number;
  /** Screen pixels per matrix entry; default 3. */
  pixel?: number;
  /** The colour bar's label. */
  colorLabel: string;
}

// Diverging: blue for negative, near-white at 0, red for positive (ColorBrewer RdBu, reversed).
const STOPS: Array<[number, [number, number, number]]> = [
  [-1, [33, 102, 172]], [-0.5, [103, 169, 207]], [0, [247, 247, 247]], [0.5, [239, 138, 98]], [1, [178, 24, 43]],
];

/** The colour of x ∈ [−1, 1] (clamped) on the diverging scale. */
export function divergingColor(x: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, Number.isFinite(x) ? x : 0));
  for (let i = 1; i < STOPS.length; i++) {
    const [b, cb] = STOPS[i];
    if (t <= b) {
      const [a, ca] = STOPS[i - 1];
      const f = (t - a) / (b - a);
      return [0, 1, 2].map((k) => Math.round(ca[k] + f * (cb[k] - ca[k]))) as [number, number, number];
    }
  }
  return STOPS[STOPS.length - 1][1];
}

/** The q-quantile (0..1) of |values| over all panels. */
export function absQuantile(panels: ReadonlyArray<HeatPanel | null>, q: number): number {
  const all: number[] = [];
  for (const p of panels) if (p) for (let i = 0; i < p.values.length; i++) all.push(Math.abs(p.values[i]));
  if (all.length === 0) return 1;
  all.sort((a, b) => a - b);
  return all[Math.min(all.length - 1, Math.floor(q * all.length))] || 1;
}

function panelPng(p: HeatPanel, limit: number): string {
  const rgb = new Uint8Array(p.rows * p.cols * 3);
  for (let i = 0; i < p.rows * p.cols; i++) rgb.set(divergingColor(p.values[i] / limit), 3 * i);
  return encodePng(p.cols, p.rows, rgb).toString('base64');
}

function colorBarPng(steps: number): string {
  const rgb = new Uint8Array(steps * 3);
  for (let i = 0; i < steps; i++) rgb.set(divergingColor(1 - (2 * i) / (steps - 1)), 3 * i);
  return encodePng(1, steps, rgb).toString('base64');
}

const FONT = 'font-family="sans-serif" font-size="12"';
const n2 = (v: number): string => String(Math.round(v * 100) / 100);
const tick = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? String(Number(v.toPrecision(3))) : v.toExponential(1));

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The SVG document of a grid of heat maps. */
export function heatmapGrid(g: HeatmapGrid): string {
  const pixel = g.pixel ?? 3;
  const flat = g.panels.flat();
  const limit = g.limit ?? absQuantile(flat, 0.99);
  const pw = Math.max(1, ...flat.map((p) => (p ? p.cols : 0))) * pixel;
  const gap = 14;
  // Each row of panels is as tall as its tallest panel (and its caption).
  const rowH = g.panels.map((row) => Math.max(1, ...row.map((p) => (p ? p.rows : 0))) * pixel + (row.some((p) => p?.caption) ? 16 : 0));
  const rowY = rowH.map((_, r) => rowH.slice(0, r).reduce((a, b) => a + b + gap, 0));
  const labelW = 12 + Math.max(...['xxxx', ...g.rowLabels].map(textWidth)); // at least four characters wide
  const left = 16 + labelW;
  const cols = Math.max(0, ...g.panels.map((r) => r.length));
  const gridW = cols * pw + Math.max(0, cols - 1) * gap;
  const gridH = rowH.reduce((a, b) => a + b, 0) + Math.max(0, g.panels.length - 1) * gap;
  const barX = left + gridW + 28;
  const barH = Math.max(120, Math.min(gridH, 360));
  const width = Math.max(barX + 90, textWidth(g.title) + 32);
  const noteLines = wrap(g.note ?? '', Math.floor((width - 32) / 6.5));
  const top = 44 + 16 * noteLines.length + 20;
  const height = top + Math.max(gridH, barH) + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(g.title)}</text>`,
  ];
  noteLines.forEach((line, i) => out.push(`<text x="${width / 2}" y="${40 + 16 * i}" text-anchor="middle" ${FONT} fill="#444">${escapeXml(line)}</text>`));
  g.colLabels.forEach((label, c) => {
    out.push(`<text x="${n2(left + c * (pw + gap) + pw / 2)}" y="${top - 8}" text-anchor="middle" ${FONT}>${escapeXml(label)}</text>`);
  });
  g.panels.forEach((row, r) => {
    const y = top + rowY[r];
    const h0 = Math.max(1, ...row.map((p) => (p ? p.rows : 0))) * pixel;
    out.push(`<text x="${left - 10}" y="${n2(y + h0 / 2 + 4)}" text-anchor="end" ${FONT}>${escapeXml(g.rowLabels[r] ?? '')}</text>`);
    row.forEach((p, c) => {
      if (!p) return;
      const x = left + c * (pw + gap);
      const w = p.cols * pixel;
      const h = p.rows * pixel;
      out.push(`<image x="${x}" y="${y}" width="${w}" height="${h}" preserveAspectRatio="none" style="image-rendering:pixelated" ` +
        `xlink:href="data:image/png;base64,${panelPng(p, limit)}"/>`);
      for (const b of p.rowBreaks ?? g.rowBreaks ?? []) if (b > 0 && b < p.rows) out.push(`<line x1="${x}" y1="${y + b * pixel}" x2="${x + w}" y2="${y + b * pixel}" stroke="black" stroke-width="1"/>`);
      for (const b of p.colBreaks ?? g.colBreaks ?? []) if (b > 0 && b < p.cols) out.push(`<line x1="${x + b * pixel}" y1="${y}" x2="${x + b * pixel}" y2="${y + h}" stroke="black" stroke-width="1"/>`);
      out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#555"/>`);
      if (p.caption) out.push(`<text x="${n2(x + w / 2)}" y="${y + h + 13}" text-anchor="middle" font-family="sans-serif" font-size="11" fill="#333">${escapeXml(p.caption)}</text>`);
    });
  });
  // The colour bar: +limit at the top, −limit at the bottom.
  out.push(`<image x="${barX}" y="${top}" width="14" height="${barH}" preserveAspectRatio="none" xlink:href="data:image/png;base64,${colorBarPng(128)}"/>`,
    `<rect x="${barX}" y="${top}" width="14" height="${barH}" fill="none" stroke="#555"/>`);
  for (const f of [1, 0.5, 0, -0.5, -1]) {
    const y = top + ((1 - f) / 2) * barH;
    out.push(`<line x1="${barX + 14}" y1="${n2(y)}" x2="${barX + 18}" y2="${n2(y)}" stroke="black"/>`,
      `<text x="${barX + 21}" y="${n2(y + 4)}" ${FONT}>${f === 1 ? '≥ ' : f === -1 ? '≤ ' : ''}${tick(f * limit)}</text>`);
  }
  const lx = barX + 76;
  const ly = top + barH / 2;
  out.push(`<text x="${lx}" y="${n2(ly)}" text-anchor="middle" ${FONT} transform="rotate(-90 ${lx} ${n2(ly)})">${escapeXml(g.colorLabel)}</text>`, '</svg>');
  return `${out.join('\n')}\n`;
}
