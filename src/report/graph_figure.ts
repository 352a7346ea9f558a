// The plan's graph as an SVG figure (the paper's Figure 2): jobs as boxes in columns by depth,
// fusions as links, self-fusion as a double link, continued training as an arrow.
import { escapeXml } from './svg';

export type LinkKind = 'continue' | 'fuse' | 'self-fuse' | 'read';

export interface GraphNode {
  id: string;
  /** First line of the box. */
  title: string;
  /** Second line (e.g. "train s · 2000 steps"). */
  detail: string;
  /** Box fill, e.g. by model width. */
  fill?: string;
}

export interface GraphLink { from: string; to: string; kind: LinkKind }

const MIN_BOX_W = 168;
const BOX_H = 40;
const COL_GAP = 72;
const ROW_GAP = 18;
const PAD = 24;
const FONT = 'font-family="sans-serif"';

export function graphFigure(nodes: GraphNode[], links: GraphLink[], title?: string): string {
  const depth = new Map<string, number>();
  const inputs = (id: string) => links.filter((l) => l.to === id).map((l) => l.from);
  const depthOf = (id: string): number => {
    if (!depth.has(id)) depth.set(id, Math.max(-1, ...inputs(id).map(depthOf)) + 1);
    return depth.get(id) as number;
  };
  nodes.forEach((n) => depthOf(n.id));
  const columns: GraphNode[][] = [];
  for (const n of nodes) (columns[depth.get(n.id) as number] ??= []).push(n);
  // Order each column by the mean row of its inputs, which keeps most links short and uncrossed.
  const row = new Map<string, number>();
  columns.forEach((col, c) => {
    if (c > 0) {
      const key = (n: GraphNode) => {
        const rows = inputs(n.id).map((i) => row.get(i) ?? 0);
        return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
      };
      col.sort((a, b) => key(a) - key(b));
    }
    col.forEach((n, r) => row.set(n.id, r));
  });
  // Boxes as wide as the longest label (about 0.6 em a character in sans-serif), all alike.
  const BOX_W = Math.max(MIN_BOX_W, 16 + Math.ceil(Math.max(...nodes.map((n) => Math.max(n.title.length * 7.5, n.detail.length * 6.3)))));
  const tallest = Math.max(...columns.map((c) => c.length));
  const top = title ? 40 : PAD;
  const height = top + tallest * (BOX_H + ROW_GAP) - ROW_GAP + PAD;
  const width = PAD * 2 + columns.length * (BOX_W + COL_GAP) - COL_GAP;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => {
    const offset = ((tallest - col.length) * (BOX_H + ROW_GAP)) / 2;
    col.forEach((n, r) => pos.set(n.id, { x: PAD + c * (BOX_W + COL_GAP), y: top + offset + r * (BOX_H + ROW_GAP) }));
  });

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (title) out.push(`<text x="${width / 2}" y="24" text-anchor="middle" ${FONT} font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  for (const l of links) {
    const a = pos.get(l.from);
    const b = pos.get(l.to);
    if (!a || !b) continue;
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const line = (dy: number, extra: string) =>
      `<line x1="${x1}" y1="${y1 + dy}" x2="${x2}" y2="${y2 + dy}" stroke="#444" stroke-width="1.5" ${extra}/>`;
    if (l.kind === 'self-fuse') out.push(line(-3, ''), line(3, ''));
    else if (l.kind === 'fuse') out.push(line(0, ''));
    else out.push(line(0, `marker-end="url(#arrow)"${l.kind === 'read' ? ' stroke-dasharray="4 3"' : ''}`));
  }
  for (const n of nodes) {
    const { x, y } = pos.get(n.id) as { x: number; y: number };
    out.push(`<rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${n.fill ?? '#eef3fb'}" stroke="#335"/>`,
      `<text x="${x + BOX_W / 2}" y="${y + 16}" text-anchor="middle" ${FONT} font-size="12" font-weight="bold">${escapeXml(n.title)}</text>`,
      `<text x="${x + BOX_W / 2}" y="${y + 31}" text-anchor="middle" ${FONT} font-size="11">${escapeXml(n.detail)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
