// Kernel heat maps over training (the paper's Figure 5; docs/dynamics.md, "Heat maps"): one
// weight matrix of a fused model — by default the first encoder layer's feed-forward input
// kernel — at the run's checkpoints, one row of panels per run. A panel shows the kernel as
// [input features, hidden units] (Wᵀ of the Hugging Face [out, in] weight), cut to the first
// `window` rows and columns of every source's block, so that corresponding entries of the
// replicas sit side by side: the diagonal blocks are the sources' own weights, the others the
// off-diagonal blocks (zero after a grouped fusion). Under each panel, the replica distance of
// the whole tensor.
import { FileError } from '../errors';
import { openWeights, readConfig } from '../io/checkpoint';
import type { T5Config } from '../model/config';
import type { TensorPlan } from '../fusion/plan';
import { readFusionRecord } from '../fusion/record';
import { absQuantile, heatmapGrid, type HeatPanel } from '../report/heatmap';
import { tensorReplicaDistance } from './replicas';
import { requireFusionPlan, runPoints, type RunPoint } from './runs';

/** The first encoder layer's feed-forward input kernel. */
export function defaultKernel(config: T5Config): string {
  return `encoder.block.0.layer.1.DenseReluDense.${config.feed_forward_proj === 'gated-gelu' ? 'wi_0' : 'wi'}.weight`;
}

/** Indices along one axis: `window` from each source's extent when the axis is split, else the first `window`·k. */
function axisIndices(t: TensorPlan, axis: number, window: number): { indices: number[]; breaks: number[] } {
  const indices: number[] = [];
  const breaks: number[] = [];
  if (t.split[axis]) {
    for (const part of t.parts) {
      const from = part.offset[axis];
      for (let i = 0; i < Math.min(window, part.shape[axis]); i++) indices.push(from + i);
      breaks.push(indices.length);
    }
    breaks.pop();
  } else {
    for (let i = 0; i < Math.min(window * t.parts.length, t.shape[axis]); i++) indices.push(i);
  }
  return { indices, breaks };
}

export interface KernelWindow { values: Float64Array; rows: number; cols: number; rowBreaks: number[]; colBreaks: number[] }

/** The window of a rank-2 tensor's data, transposed to [in, out]. */
export function kernelWindow(t: TensorPlan, data: ArrayLike<number>, window: number): KernelWindow {
  if (t.shape.length !== 2) throw new Error(`kernelWindow: "${t.name}" is not a matrix`);
  const outs = axisIndices(t, 0, window);
  const ins = axisIndices(t, 1, window);
  const cols = t.shape[1];
  const values = new Float64Array(ins.indices.length * outs.indices.length);
  ins.indices.forEach((i, r) => outs.indices.forEach((o, c) => { values[r * outs.indices.length + c] = data[o * cols + i]; }));
  return { values, rows: ins.indices.length, cols: outs.indices.length, rowBreaks: ins.breaks, colBreaks: outs.breaks };
}

/** The top-left (source A) minus the bottom-right (source B) quarter of a two-source kernel window. */
function differencePanel(p: HeatPanel): HeatPanel {
  const rows = p.rows / 2;
  const cols = p.cols / 2;
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = p.values[r * p.cols + c] - p.values[(rows + r) * p.cols + cols + c];
  return { values, rows, cols, rowBreaks: [], colBreaks: [] };
}

/** Up to `count` steps of a sorted list: the first, the last and evenly spaced ones between. */
export function spreadSteps(steps: readonly number[], count: number): number[] {
  if (steps.length <= count) return [...steps];
  return [...new Set(Array.from({ length: count }, (_, i) => steps[Math.round((i * (steps.length - 1)) / (count - 1))]))];
}

export interface HeatmapRun { label: string; runDir: string }

export interface KernelHeatmapOptions {
  /** Parameter name; default the first encoder layer's feed-forward input kernel. */
  tensor?: string;
  window: number;
  /** Panels per run at most (steps spread over the run). */
  columns: number;
  /** Screen pixels per entry. */
  pixel?: number;
  /** Under each self-fused run, a row of the difference between the two replicas' windows (default on). */
  difference?: boolean;
}

export interface KernelHeatmap {
  svg: string;
  tensor: string;
  steps: number[];
  /** Per run, the replica distance of the whole tensor at each shown step (null where the run has no model). */
  distances: Array<Array<number | null>>;
  limit: number;
}

function readTensor(dir: string, name: string): Float32Array {
  const reader = openWeights(dir, readConfig(dir));
  try {
    return reader.readFloat32(name);
  } finally {
    reader.close();
  }
}

/** The heat map grid of `runs` (each a run directory trained on from a fused model). */
export function kernelHeatmap(runs: readonly HeatmapRun[], o: KernelHeatmapOptions): KernelHeatmap {
  const points = runs.map((r) => runPoints(r.runDir));
  const first = points.find((p) => p.length > 0)?.[0];
  if (!first) throw new FileError(runs[0]?.runDir ?? '(no run)', 'has no checkpoints to draw', 'train with checkpoint_every > 0 and keep_checkpoints large enough');
  const plan = requireFusionPlan(first.dir);
  const name = o.tensor ?? defaultKernel(plan.config);
  const t = plan.tensors.find((x) => x.name === name);
  if (!t || t.shape.length !== 2) {
    throw new FileError(first.dir, `has no weight matrix "${name}"`, 'name a rank-2 parameter, e.g. encoder.block.0.layer.1.DenseReluDense.wi_0.weight');
  }
  const steps = spreadSteps([...new Set(points.flat().map((p) => p.step))].sort((a, b) => a - b), o.columns);
  const distances: Array<Array<number | null>> = [];
  let shape: KernelWindow | undefined;
  const panels = points.map((list) => {
    const row: Array<number | null> = [];
    distances.push(row);
    return steps.map((step): HeatPanel | null => {
      const p = list.find((x: RunPoint) => x.step === step);
      if (!p) {
        row.push(null);
        return null;
      }
      const data = readTensor(p.dir, name);
      const w = kernelWindow(t, data, o.window);
      shape ??= w;
      const d = tensorReplicaDistance(t, data);
      row.push(d);
      return { values: w.values, rows: w.rows, cols: w.cols, caption: d === null ? undefined : `replica distance ${d.toPrecision(2)}` };
    });
  });
  const limit = absQuantile(panels.flat(), 0.99);
  // Replicas side by side are hard to compare by eye once they differ slightly; their difference,
  // on the same colour scale, shows how far apart they are. Only self-fusions have replicas: the
  // blocks of two independently trained models differ entirely.
  const sameShapes = t.parts.length === 2 && t.parts[0].shape.join() === t.parts[1].shape.join();
  const replicas = points.map((list) => (o.difference ?? true) && sameShapes && list.length > 0 && readFusionRecord(list[0].dir).operator === 'self-fuse');
  const rows = panels.flatMap((row, i) => (replicas[i] ? [row, row.map((p) => p && differencePanel(p))] : [row]));
  const rowLabels = runs.flatMap((r, i) => (replicas[i] ? [r.label, `${r.label}: A − B`] : [r.label]));
  const svg = heatmapGrid({
    title: `${name} over training (Figure 5)`,
    note: `Each panel: the kernel [input features × hidden units], the first ${o.window} rows and columns of each source's block ` +
      `(A top left, B bottom right, off-diagonal blocks elsewhere; lines separate the sources)${replicas.some(Boolean) ? '; under a self-fusion\'s row, the replicas\' difference A − B' : ''}. ` +
      'One colour scale for all panels.',
    rowLabels,
    colLabels: steps.map((s) => `step ${s}`),
    panels: rows,
    rowBreaks: shape?.rowBreaks,
    colBreaks: shape?.colBreaks,
    pixel: o.pixel,
    limit,
    colorLabel: 'weight (colours clipped at the 99th percentile of |w|)',
  });
  return { svg, tensor: name, steps, distances, limit };
}
