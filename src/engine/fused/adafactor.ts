// One Adafactor update of a parameter, fused: the new parameter and second moments (and first
// moment) in three passes over the gradient instead of the ~10 full-size elementwise ops an
// op-by-op Adafactor costs. The algorithm is src/training/optimizers/adafactor.ts's (Shazeer &
// Stern 2018 as T5 trains with it); the optimizer supplies β2 of this update and the step's
// learning rate, so this kernel knows nothing of schedules or step counts.
import { tf, type Tensor } from '../tf';
import { input, makeFloat32, readFloat32, type KernelFunc, type TensorInfo } from '../cpu_kernel';

export const ADAFACTOR = 'DfAdafactor';

export interface AdafactorAttrs {
  learningRate: number;
  /** β2 of this update (the optimizer's 1 − t^decay_rate). */
  beta2: number;
  /** Added to the squared gradients' means. */
  eps1: number;
  /** Floor of the parameter scale. */
  eps2: number;
  /** The update is scaled down to this RMS when its RMS exceeds it. */
  clipThreshold: number;
  /** Step size max(eps2, RMS(param))·lr instead of lr. */
  scaleParameter: boolean;
  /** First-moment decay; 0: no first moment (no `m` input or output). */
  beta1: number;
  /** Decoupled weight decay, in units of the step size. */
  weightDecay: number;
  /** Factor the gradient is multiplied by first (global-norm clipping). */
  gradScale: number;
}

/**
 * A parameter's optimizer moments: `vr` [..., R] and `vc` [..., C] (row and column factors of
 * the second moment) for parameters of rank ≥ 2, `v` (the full second moment) otherwise, and `m`
 * (shaped like the parameter) only with β1 > 0.
 */
export interface AdafactorMoments<T> {
  vr?: T;
  vc?: T;
  v?: T;
  m?: T;
}

/** Whether a parameter of this shape keeps factored second moments (rank ≥ 2). */
export function isFactored(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/** A factored parameter as `mats` matrices of `rows` × `cols` (its last two axes). */
export interface FactorLayout {
  mats: number;
  rows: number;
  cols: number;
}

export function factorLayout(shape: readonly number[]): FactorLayout {
  const rows = shape[shape.length - 2];
  const cols = shape[shape.length - 1];
  return { mats: tf.util.sizeFromShape(shape.slice(0, -2)), rows, cols };
}

const ema = (old: number, x: number, beta: number): number => beta * old + (1 - beta) * x;

/**
 * Reference arithmetic (float64 per element, the gradient first scaled and rounded to float32 as
 * a tf.mul would): the second-moment estimate v̂ is vr·vcᵀ/mean(vr) per matrix (factored) or v;
 * u = g/sqrt(v̂); stepSize = lr·max(eps2, RMS(p)) (or lr); u·= stepSize/max(1, RMS(u)/clip);
 * with β1, u = m' = β1·m + (1−β1)·u; p' = p − stepSize·wd·p − u.
 */
export function adafactorForward(param: Float32Array, grad: Float32Array, shape: readonly number[],
  s: AdafactorMoments<Float32Array>, a: AdafactorAttrs): { param: Float32Array } & AdafactorMoments<Float32Array> {
  const n = param.length;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = Math.fround(grad[i] * a.gradScale);
  // 1/sqrt(v̂) per element.
  const inv = new Float64Array(n);
  const out: { param: Float32Array } & AdafactorMoments<Float32Array> = { param: new Float32Array(n) };
  if (isFactored(shape)) {
    const { mats, rows, cols } = factorLayout(shape);
    const [vrOld, vcOld] = [required(s.vr, 'vr'), required(s.vc, 'vc')];
    out.vr = new Float32Array(mats * rows);
    out.vc = new Float32Array(mats * cols);
    for (let b = 0; b < mats; b++) {
      const base = b * rows * cols;
      const rowSq = new Float64Array(rows);
      const colSq = new Float64Array(cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const x = g[base + r * cols + c] ** 2;
          rowSq[r] += x;
          colSq[c] += x;
        }
      }
      const vr = rowSq.map((x, r) => ema(vrOld[b * rows + r], x / cols + a.eps1, a.beta2));
      const vc = colSq.map((x, c) => ema(vcOld[b * cols + c], x / rows + a.eps1, a.beta2));
      const vrMean = vr.reduce((acc, x) => acc + x, 0) / rows;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) inv[base + r * cols + c] = 1 / Math.sqrt(vr[r] / vrMean) / Math.sqrt(vc[c]);
      }
      out.vr.set(vr, b * rows);
      out.vc.set(vc, b * cols);
    }
  } else {
    const vOld = required(s.v, 'v');
    out.v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = ema(vOld[i], g[i] ** 2 + a.eps1, a.beta2);
      out.v[i] = v;
      inv[i] = 1 / Math.sqrt(v);
    }
  }
  let uSq = 0;
  let pSq = 0;
  for (let i = 0; i < n; i++) {
    uSq += (g[i] * inv[i]) ** 2;
    pSq += param[i] ** 2;
  }
  const stepSize = a.learningRate * (a.scaleParameter ? Math.max(a.eps2, Math.sqrt(pSq / n)) : 1);
  const factor = stepSize / Math.max(1, Math.sqrt(uSq / n) / a.clipThreshold);
  const decay = 1 - stepSize * a.weightDecay;
  const mOld = a.beta1 > 0 ? required(s.m, 'm') : null;
  if (mOld) out.m = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let u = g[i] * inv[i] * factor;
    if (mOld && out.m) out.m[i] = u = ema(mOld[i], u, a.beta1);
    out.param[i] = param[i] * decay - u;
  }
  return out;
}

function required<T>(x: T | undefined, name: string): T {
  if (x === undefined) throw new Error(`adafactor: missing moment "${name}"`);
  return x;
}

/** The names of the moments a parameter of this shape has, in the kernel's output order. */
export function momentNames(shape: readonly number[], beta1: number): Array<keyof AdafactorMoments<unknown>> {
  return [...(isFactored(shape) ? ['vr', 'vc'] as const : ['v'] as const), ...(beta1 > 0 ? ['m'] as const : [])];
}

/** The shape moment `name` must have for a parameter of `shape`. */
function momentShape(name: keyof AdafactorMoments<unknown>, shape: readonly number[]): number[] {
  if (name === 'vr') return shape.slice(0, -1);
  if (name === 'vc') return [...shape.slice(0, -2), shape[shape.length - 1]];
  return [...shape];
}

/** The updated parameter and moments (new tensors; the inputs are left as they are). */
export function adafactorUpdate(param: Tensor, grad: Tensor, moments: AdafactorMoments<Tensor>, attrs: AdafactorAttrs):
  { param: Tensor } & AdafactorMoments<Tensor> {
  if (!tf.util.arraysEqual(grad.shape, param.shape)) {
    throw new Error(`adafactorUpdate: grad [${grad.shape}] does not match the parameter [${param.shape}]`);
  }
  const names = momentNames(param.shape, attrs.beta1);
  const inputs: Record<string, Tensor> = { param, grad };
  for (const name of names) {
    const t = moments[name];
    const want = momentShape(name, param.shape);
    if (!t || !tf.util.arraysEqual(t.shape, want)) {
      throw new Error(`adafactorUpdate: moment ${name} ${t ? `[${t.shape}]` : 'is missing'}, expected [${want}] for the parameter [${param.shape}]`);
    }
    inputs[name] = t;
  }
  const [p, ...rest] = tf.engine().runKernel(ADAFACTOR, inputs, attrs as unknown as tf.NamedAttrMap) as Tensor[];
  const out: { param: Tensor } & AdafactorMoments<Tensor> = { param: p };
  names.forEach((name, i) => { out[name] = rest[i]; });
  return out;
}

const cpuForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const param = input(inputs, 'param');
  const a = attrs as unknown as AdafactorAttrs;
  const names = momentNames(param.shape, a.beta1);
  const moments: AdafactorMoments<Float32Array> = {};
  for (const name of names) moments[name] = readFloat32(backend, input(inputs, name));
  const r = adafactorForward(readFloat32(backend, param), readFloat32(backend, input(inputs, 'grad')), param.shape, moments, a);
  const outputs: TensorInfo[] = [makeFloat32(backend, param.shape, r.param)];
  for (const name of names) outputs.push(makeFloat32(backend, momentShape(name, param.shape), required(r[name], name)));
  return outputs;
};

export const adafactorKernels = [{ kernelName: ADAFACTOR, kernelFunc: cpuForward }];
