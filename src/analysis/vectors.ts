// Parameter maps as flat float64 vectors. The dynamics analyses (docs/dynamics.md) integrate
// flows and take differences of gradients whose size is far below float32's resolution of the
// weights; keeping positions and sums in float64 leaves float32 only where the model computes.
import { tf } from '../engine/tf';
import type { Params } from '../model/params';

/** Where each parameter lives in a flat vector, in the parameter map's order. */
export interface ParamLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  sizes: number[];
  size: number;
}

export function layoutOf(params: Params): ParamLayout {
  const names = Object.keys(params);
  const shapes = names.map((n) => [...params[n].shape]);
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const offsets: number[] = [];
  let size = 0;
  for (const n of sizes) {
    offsets.push(size);
    size += n;
  }
  return { names, shapes, offsets, sizes, size };
}

/** The tensors of a parameter map (or gradient map) laid end to end in float64. */
export function flatten(layout: ParamLayout, tensors: Params): Float64Array {
  const out = new Float64Array(layout.size);
  layout.names.forEach((name, i) => {
    const t = tensors[name];
    if (!t) throw new Error(`flatten: no tensor "${name}"`);
    out.set(t.dataSync() as Float32Array, layout.offsets[i]);
  });
  return out;
}

/** float32 tensors holding base + delta (delta optional), rounded once. The caller disposes them. */
export function toParams(layout: ParamLayout, base: Float64Array, delta?: Float64Array): Params {
  const params: Params = {};
  layout.names.forEach((name, i) => {
    const o = layout.offsets[i];
    const a = new Float32Array(layout.sizes[i]);
    if (delta) for (let j = 0; j < a.length; j++) a[j] = base[o + j] + delta[o + j];
    else a.set(base.subarray(o, o + a.length));
    params[name] = tf.tensor(a, layout.shapes[i], 'float32');
  });
  return params;
}

/** The part of a flat vector that holds parameter `name`. */
export function slice(layout: ParamLayout, v: Float64Array, name: string): Float64Array {
  const i = layout.names.indexOf(name);
  if (i < 0) throw new Error(`slice: no parameter "${name}"`);
  return v.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** y + s·x, as a new vector. */
export function axpy(s: number, x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i] + s * x[i];
  return out;
}

/** s·x, as a new vector. */
export function scaled(s: number, x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = s * x[i];
  return out;
}

/** ‖a − b‖. */
export function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
