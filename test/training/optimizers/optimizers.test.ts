import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../../src/engine/backend';
import { tf } from '../../../src/engine/tf';
import type { Params } from '../../../src/model/params';
import { ADAFACTOR_DEFAULTS, type AdafactorSpec } from '../../../src/training/optimizers/adafactor';
import { ADAMW_DEFAULTS, type AdamWSpec } from '../../../src/training/optimizers/adamw';
import { SGD_DEFAULTS } from '../../../src/training/optimizers/sgd';
import { clipScale, globalNorm } from '../../../src/training/optimizers/clip';
import { makeOptimizer, parseOptimizerSpec } from '../../../src/training/optimizers/spec';
import { loadOptimizerState, optimizerOfMeta, saveOptimizerState } from '../../../src/training/optimizers/state_io';
import type { OptimizerSpec } from '../../../src/training/optimizers/spec';
import { TEST_BACKENDS } from '../../helpers/backends';
import { assertClose } from '../../helpers/compare';
import { temporaryDir } from '../../helpers/tmp';

// Small float64 references written from the algorithms' definitions, one parameter at a time.
type Vec = number[];
interface Ref { p: Vec; shape: number[]; slots: Record<string, Vec> }

const sq = (x: Vec): Vec => x.map((v) => v * v);
const rmsOf = (x: Vec): number => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

function adamwRef(spec: AdamWSpec, r: Ref, g: Vec, lr: number, t: number): void {
  const m = r.slots.m ?? g.map(() => 0);
  const v = r.slots.v ?? g.map(() => 0);
  r.slots.m = m.map((mi, i) => spec.beta1 * mi + (1 - spec.beta1) * g[i]);
  r.slots.v = v.map((vi, i) => spec.beta2 * vi + (1 - spec.beta2) * g[i] * g[i]);
  r.p = r.p.map((pi, i) => {
    const mh = r.slots.m[i] / (1 - spec.beta1 ** t);
    const vh = r.slots.v[i] / (1 - spec.beta2 ** t);
    return pi - lr * spec.weight_decay * pi - lr * mh / (Math.sqrt(vh) + spec.eps);
  });
}

function adafactorRef(spec: AdafactorSpec, r: Ref, g: Vec, lr: number, t: number): void {
  const beta2 = 1 - t ** spec.decay_rate;
  const g2 = sq(g).map((v) => v + spec.eps1);
  let u: Vec;
  if (r.shape.length === 2) {
    const [R, C] = r.shape;
    const rowMean = Array.from({ length: R }, (_, i) => g2.slice(i * C, (i + 1) * C).reduce((a, b) => a + b) / C);
    const colMean = Array.from({ length: C }, (_, j) => Array.from({ length: R }, (_, i) => g2[i * C + j]).reduce((a, b) => a + b) / R);
    const vr = (r.slots.vr ?? rowMean.map(() => 0)).map((x, i) => beta2 * x + (1 - beta2) * rowMean[i]);
    const vc = (r.slots.vc ?? colMean.map(() => 0)).map((x, j) => beta2 * x + (1 - beta2) * colMean[j]);
    r.slots.vr = vr;
    r.slots.vc = vc;
    const vrMean = vr.reduce((a, b) => a + b) / R;
    // Second-moment estimate v[i][j] = vr[i]·vc[j] / mean(vr).
    u = g.map((gi, k) => gi / Math.sqrt(vr[Math.floor(k / C)] * vc[k % C] / vrMean));
  } else {
    const v = (r.slots.v ?? g.map(() => 0)).map((x, i) => beta2 * x + (1 - beta2) * g2[i]);
    r.slots.v = v;
    u = g.map((gi, i) => gi / Math.sqrt(v[i]));
  }
  const denom = Math.max(1, rmsOf(u) / spec.clip_threshold);
  const step = lr * (spec.scale_parameter ? Math.max(spec.eps2, rmsOf(r.p)) : 1);
  u = u.map((x) => (x / denom) * step);
  if (spec.beta1 > 0) {
    const m = r.slots.m ?? u.map(() => 0);
    u = r.slots.m = m.map((mi, i) => spec.beta1 * mi + (1 - spec.beta1) * u[i]);
  }
  r.p = r.p.map((pi, i) => pi - step * spec.weight_decay * pi - u[i]);
}

function sgdRef(r: Ref, g: Vec, lr: number): void {
  r.p = r.p.map((pi, i) => pi - lr * g[i]);
}

// Deterministic pseudo-random values in [-scale, scale).
function values(n: number, seed: number, scale = 1): Vec {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 * 2 - 1) * scale;
  });
}

const SHAPES: Record<string, number[]> = { 'w.weight': [3, 4], 'n.weight': [4], 'e.weight': [2, 5] };
const LRS = [0.01, 0.02, 0.005, 0.01];

function checkAgainstReference(spec: OptimizerSpec, reference: (r: Ref, g: Vec, lr: number, t: number) => void,
  gradScale = 1): void {
  const optimizer = makeOptimizer(spec);
  const refs: Record<string, Ref> = {};
  let params: Params = {};
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = values(n, name.length * 7 + 1);
    refs[name] = { p, shape, slots: {} };
    params[name] = tf.tensor(p, shape, 'float32');
  }
  let state = optimizer.init(params);
  LRS.forEach((lr, k) => {
    const grads: Params = {};
    for (const [name, shape] of Object.entries(SHAPES)) {
      const n = shape.reduce((a, b) => a * b, 1);
      // Gradients of growing size so that update clipping engages in later steps.
      const g = values(n, 100 * k + name.length, 0.1 * (k + 1) ** 2);
      grads[name] = tf.tensor(g, shape, 'float32');
      reference(refs[name], g.map((x) => Math.fround(x) * gradScale), lr, k + 1);
    }
    ({ params, state } = optimizer.apply(params, grads, state, { lr, gradScale }));
    for (const g of Object.values(grads)) g.dispose();
    assert.equal(state.step, k + 1);
    for (const [name, r] of Object.entries(refs)) {
      assertClose(params[name].dataSync(), r.p, 2e-6, `${spec.name} step ${k + 1} ${name}`);
      for (const [prefix, ref] of Object.entries(r.slots)) {
        assertClose(state.tensors[`${prefix}.${name}`].dataSync(), ref, 2e-6, `${spec.name} step ${k + 1} ${prefix}.${name}`);
      }
    }
  });
  assert.deepEqual(Object.keys(state.tensors).sort(),
    Object.entries(refs).flatMap(([name, r]) => Object.keys(r.slots).map((p) => `${p}.${name}`)).sort());
  for (const t of [...Object.values(params), ...Object.values(state.tensors)]) t.dispose();
}

for (const backend of TEST_BACKENDS) describe(`optimizers on ${backend}`, () => {
  before(async () => { await initEngine(backend); });

  test('AdamW matches a float64 reference over four steps', () => {
    checkAgainstReference(ADAMW_DEFAULTS, (r, g, lr, t) => adamwRef(ADAMW_DEFAULTS, r, g, lr, t));
    const strong: AdamWSpec = { name: 'adamw', beta1: 0.8, beta2: 0.95, eps: 1e-6, weight_decay: 0.5 };
    checkAgainstReference(strong, (r, g, lr, t) => adamwRef(strong, r, g, lr, t));
  });

  test('Adafactor (T5 settings: factored, no β1, update clipping, parameter scale) matches a float64 reference', () => {
    checkAgainstReference(ADAFACTOR_DEFAULTS, (r, g, lr, t) => adafactorRef(ADAFACTOR_DEFAULTS, r, g, lr, t));
  });

  test('Adafactor with β1, weight decay, no parameter scale and a tight clip threshold matches the reference', () => {
    const spec: AdafactorSpec = { ...ADAFACTOR_DEFAULTS, beta1: 0.9, weight_decay: 0.1, scale_parameter: false, clip_threshold: 0.5 };
    checkAgainstReference(spec, (r, g, lr, t) => adafactorRef(spec, r, g, lr, t));
  });

  test('SGD is θ − lr·g and keeps no state', () => {
    checkAgainstReference(SGD_DEFAULTS, (r, g, lr) => sgdRef(r, g, lr));
  });

  test('gradScale is the same as scaling the gradients', () => {
    checkAgainstReference(SGD_DEFAULTS, (r, g, lr) => sgdRef(r, g, lr), 0.25);
    checkAgainstReference(ADAMW_DEFAULTS, (r, g, lr, t) => adamwRef(ADAMW_DEFAULTS, r, g, lr, t), 0.25);
    checkAgainstReference(ADAFACTOR_DEFAULTS, (r, g, lr, t) => adafactorRef(ADAFACTOR_DEFAULTS, r, g, lr, t), 0.25);
  });

  test('Adafactor factors matrices only: vr [R], vc [C] for rank 2, v for rank 1, m only with β1', () => {
    const params: Params = { a: tf.zeros([3, 4]), b: tf.zeros([4]) };
    const plain = makeOptimizer(ADAFACTOR_DEFAULTS).init(params);
    assert.deepEqual(Object.fromEntries(Object.entries(plain.tensors).map(([k, t]) => [k, t.shape])),
      { 'vr.a': [3], 'vc.a': [4], 'v.b': [4] });
    const withM = makeOptimizer({ ...ADAFACTOR_DEFAULTS, beta1: 0.9 }).init(params);
    assert.deepEqual(Object.keys(withM.tensors).sort(), ['m.a', 'm.b', 'v.b', 'vc.a', 'vr.a']);
    for (const t of [...Object.values(params), ...Object.values(plain.tensors), ...Object.values(withM.tensors)]) t.dispose();
  });

  test('an update leaves no tensors behind', () => {
    for (const spec of [ADAMW_DEFAULTS, { ...ADAFACTOR_DEFAULTS, beta1: 0.9, weight_decay: 0.1 }, SGD_DEFAULTS] as OptimizerSpec[]) {
      const optimizer = makeOptimizer(spec);
      let params: Params = { a: tf.ones([3, 4]), b: tf.ones([4]) };
      let state = optimizer.init(params);
      const grads: Params = { a: tf.fill([3, 4], 0.5), b: tf.fill([4], -0.5) };
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) ({ params, state } = optimizer.apply(params, grads, state, { lr: 0.1, gradScale: 0.5 }));
      assert.equal(tf.memory().numTensors, before, spec.name);
      for (const t of [...Object.values(params), ...Object.values(state.tensors), ...Object.values(grads)]) t.dispose();
    }
  });

  test('global-norm clipping: the norm over all tensors, the factor only above the limit', () => {
    const grads: Params = { a: tf.tensor([3, 0], [2]), b: tf.tensor([[0, 4]], [1, 2]) };
    assert.equal(globalNorm(grads), 5);
    assert.equal(clipScale(5, null), 1);
    assert.equal(clipScale(5, 10), 1);
    assert.ok(Math.abs(clipScale(5, 1) * 5 - 1) < 1e-6);
    for (const t of Object.values(grads)) t.dispose();
  });

  test('state round trip through optimizer.safetensors + optimizer.json is bit-exact', () => {
    const dir = temporaryDir('df-opt-');
    try {
      for (const spec of [ADAMW_DEFAULTS, { ...ADAFACTOR_DEFAULTS, beta1: 0.9 }, SGD_DEFAULTS] as OptimizerSpec[]) {
        const optimizer = makeOptimizer(spec);
        let params: Params = { 'x.weight': tf.tensor(values(12, 3), [3, 4]), 'y.weight': tf.tensor(values(4, 5), [4]) };
        let state = optimizer.init(params);
        const grads: Params = { 'x.weight': tf.tensor(values(12, 9), [3, 4]), 'y.weight': tf.tensor(values(4, 11), [4]) };
        for (let i = 0; i < 2; i++) ({ params, state } = optimizer.apply(params, grads, state, { lr: 0.01 }));
        saveOptimizerState(dir, optimizer, state);
        const loaded = loadOptimizerState(dir, optimizer, params);
        assert.equal(loaded.step, 2);
        assert.deepEqual(Object.keys(loaded.tensors), Object.keys(state.tensors));
        for (const [k, t] of Object.entries(state.tensors)) assert.deepEqual(loaded.tensors[k].dataSync(), t.dataSync(), k);
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'optimizer.json'), 'utf8'));
        assert.deepEqual(meta, { name: spec.name, step: 2, hyperparameters: optimizer.hyperparameters });
        // optimizer.json alone tells which slots the state has (what fusion needs to carry it).
        assert.deepEqual(optimizerOfMeta(meta, 'optimizer.json').slots.map((x) => x.prefix), optimizer.slots.map((x) => x.prefix));

        const other = makeOptimizer(spec.name === 'adamw' ? ADAFACTOR_DEFAULTS : ADAMW_DEFAULTS);
        assert.throws(() => loadOptimizerState(dir, other, params), /optimizer\.json: holds state of optimizer/);
        const wider: Params = { 'x.weight': tf.zeros([3, 5]), 'y.weight': tf.zeros([4]) };
        // SGD keeps no tensors, so any shapes fit its (empty) state.
        if (spec.name !== 'sgd') assert.throws(() => loadOptimizerState(dir, optimizer, wider), /optimizer\.safetensors: tensor ".*x\.weight" has shape/);
        for (const t of [...Object.values(params), ...Object.values(state.tensors), ...Object.values(loaded.tensors),
          ...Object.values(grads), ...Object.values(wider)]) t.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('specs parse with defaults and name the bad field', () => {
    assert.deepEqual(parseOptimizerSpec('adafactor', 'c.json'), ADAFACTOR_DEFAULTS);
    assert.deepEqual(parseOptimizerSpec({ name: 'adamw', weight_decay: 0 }, 'c.json'), { ...ADAMW_DEFAULTS, weight_decay: 0 });
    assert.deepEqual(parseOptimizerSpec('sgd', 'c.json'), SGD_DEFAULTS);
    assert.throws(() => parseOptimizerSpec({ name: 'rmsprop' }, 'c.json'), /c\.json: field "optimizer\.name"/);
    assert.throws(() => parseOptimizerSpec({ name: 'sgd', momentum: 0.9 }, 'c.json'), /optimizer\.momentum": is not a hyperparameter of sgd\. Fix: remove it; sgd takes no hyperparameters/);
    assert.throws(() => parseOptimizerSpec({ name: 'adamw', decay_rate: -0.8 }, 'c.json'), /field "optimizer\.decay_rate": is not a hyperparameter of adamw/);
    assert.throws(() => parseOptimizerSpec({ name: 'adafactor', scale_parameter: 1 }, 'c.json'), /optimizer\.scale_parameter": expected a boolean/);
    assert.throws(() => parseOptimizerSpec({ name: 'adamw', beta2: 1 }, 'c.json'), /optimizer\.beta2/);
  });
});
