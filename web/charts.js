// Line charts on uPlot for the dashboard: several series, each with its own x values (joined
// with uPlot.join), linear or log axes, redrawn at most a few times a second as data streams in.
// Each chart's container carries data-points: the number of points of each series it drew, so a
// test (or a person in the inspector) can check what is on screen.
import uPlot from '/vendor/uPlot.esm.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** 12345678 → "1.23e7", 12500000000 → "1.25e10"; other numbers to 4 digits. */
export function shortNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return Number(v.toPrecision(3)).toExponential().replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/**
 * A chart in `el`. `series()` returns [{label, xs, ys, points?}] each time the chart is drawn;
 * `options` holds {xLabel, yLabel, logX, logY, yMax, height}.
 */
export class LineChart {
  constructor(el, series, options) {
    this.el = el;
    this.series = series;
    this.options = { ...options };
    this.plot = undefined;
    this.shape = '';
    this.pending = false;
    this.resize = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.resize.observe(el);
  }

  size() {
    return { width: Math.max(200, this.el.clientWidth), height: this.options.height ?? 300 };
  }

  set(options) {
    Object.assign(this.options, options);
    this.draw();
  }

  /** Redraws soon (several updates in a burst draw once). */
  update() {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.draw();
    }, 150);
  }

  draw() {
    const { logX, logY } = this.options;
    const keep = (x, y) => Number.isFinite(x) && y !== null && y !== undefined && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0);
    const list = this.series().map((s) => {
      const rows = [];
      for (let i = 0; i < s.xs.length; i++) if (keep(s.xs[i], s.ys[i])) rows.push([s.xs[i], s.ys[i]]);
      rows.sort((a, b) => a[0] - b[0]);
      return { ...s, rows };
    });
    this.el.dataset.points = JSON.stringify(Object.fromEntries(list.map((s) => [s.label, s.rows.length])));
    const drawn = list.filter((s) => s.rows.length > 0);
    const empty = drawn.length === 0;
    this.el.classList.toggle('empty', empty);
    if (empty) {
      this.plot?.destroy();
      this.plot = undefined;
      this.shape = '';
      return;
    }
    const data = uPlot.join(drawn.map((s) => [s.rows.map((r) => r[0]), s.rows.map((r) => r[1])]));
    const shape = JSON.stringify([drawn.map((s) => [s.label, s.color, s.rows.length < 80 || s.points]), logX, logY, this.options.xLabel, this.options.yLabel]);
    if (this.plot && shape === this.shape) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.shape = shape;
    this.plot = new uPlot(this.optionsFor(drawn), data, this.el);
  }

  optionsFor(drawn) {
    const { logX, logY, xLabel, yLabel } = this.options;
    const axis = (label) => ({ label, values: (u, splits) => splits.map(shortNumber), size: 56, labelSize: 20 });
    return {
      ...this.size(),
      scales: {
        x: { time: false, distr: logX ? 3 : 1 },
        // yMax (read at every redraw) keeps outliers such as untrained losses from squashing the curves.
        y: logY ? { distr: 3 } : {
          range: (u, min, max) => {
            const top = this.options.yMax !== undefined ? Math.min(max, this.options.yMax) : max;
            const pad = (top - min) * 0.05 || Math.abs(top) * 0.05 || 1;
            return [min - pad, top + pad];
          },
        },
      },
      axes: [axis(xLabel), axis(yLabel)],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: xLabel, value: (u, v) => shortNumber(v) },
        ...drawn.map((s, i) => ({
          label: s.label, stroke: s.color ?? PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true,
          points: { show: s.rows.length < 80 || !!s.points, size: 5 }, value: (u, v) => shortNumber(v),
        })),
      ],
    };
  }

  destroy() {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }
}
