import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { scoped } from '../../src/engine/scope';
import { tf } from '../../src/engine/tf';
import { planFuse, planSelfFuse, selfFuse } from '../../src/fusion/fuse';
import { carriedMeta, carryOptimizerState } from '../../src/fusion/optimizer_state';
import { caseToBatch } from '../../src/model/case';
import { makeConfig, type T5Config } from '../../src/model/config';
import { paramSpecs } from '../../src/model/params';
import { lossAndGrads } from '../../src/model/t5';
import type { OptimizerSlot, OptimizerState } from '../../src/training/optimizers/types';
import { maxAbsError, relativeError } from '../helpers/compare';
import { compatibleConfigs, randomCase, randomModel, rngFor } from './helpers';

// Slot tables as the optimizers declare them (training/optimizers/types.ts).
const all = () => true;
const ADAMW: OptimizerSlot[] = [
  { prefix: 'm', layout: 'like-param', order: 1, appliesTo: all },
  { prefix: 'v', layout: 'like-param', order: 2, appliesTo: all },
];
const ADAFACTOR: OptimizerSlot[] = [
  { prefix: 'm', layout: 'like-param', order: 1, appliesTo: all },
  { prefix: 'vr', layout: 'row-factor', order: 2, appliesTo: (s) => s.length >= 2 },
  { prefix: 'vc', layout: 'col-factor', order: 2, appliesTo: (s) => s.length >= 2 },
  { prefix: 'v', layout: 'like-param', order: 2, appliesTo: (s) => s.length < 2 },
];

const slotShape = (slot: OptimizerSlot, shape: number[]): number[] =>
  slot.layout === 'like-param' ? shape : slot.layout === 'row-factor' ? [shape[0]] : [shape[1]];

/** A state with positive random moments for every (slot, parameter). */
function randomState(config: T5Config, slots: OptimizerSlot[], step: number, seed: number): OptimizerState {
  const name = slots === ADAMW ? 'adamw' : 'adafactor';
  const tensors: Record<string, tf.Tensor> = {};
  paramSpecs(config).forEach((spec, i) => {
    for (const slot of slots.filter((s) => s.appliesTo(spec.shape))) {
      tensors[`${slot.prefix}.${spec.name}`] = tf.randomUniform(slotShape(slot, spec.shape), 0.1, 1, 'float32', seed * 1000 + i);
    }
  });
  return { name, step, tensors };
}

/** Values of the sub-block of a [R, C] (or [n]) tensor at `offset` of `shape`. */
function region(data: ArrayLike<number>, fullShape: number[], offset: number[], shape: number[]): number[] {
  const cols = fullShape.length === 2 ? fullShape[1] : fullShape[0];
  const [rows, width] = shape.length === 2 ? shape : [1, shape[0]];
  const [r0, c0] = offset.length === 2 ? offset : [0, offset[0]];
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out.push(data[(r0 + r) * cols + c0 + c]);
  return out;
}

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('optimizer state carry', () => {
  before(async () => { await initEngine('cpu'); });

  const common = { vocab_size: 13, d_kv: 2, num_layers: 1, feed_forward_proj: 'relu' as const };
  const configsFor = (tied: boolean) => [
    makeConfig({ ...common, tie_word_embeddings: tied, d_model: 4, num_heads: 2, d_ff: 3 }),
    makeConfig({ ...common, tie_word_embeddings: tied, d_model: 6, num_heads: 1, d_ff: 5 }),
  ];
  const w = [0.25, 0.75];

  test('AdamW: moments placed block by block, zeros off the diagonal, × w_i and × w_i²', () => {
    const configs = configsFor(false);
    const plan = planFuse(configs, { weights: w });
    const states = configs.map((c, i) => randomState(c, ADAMW, 100 * (i + 1), i + 1));
    const carried = carryOptimizerState(plan, ADAMW, states);
    assert.equal(carried.step, 200);
    const q = 'encoder.block.0.layer.0.SelfAttention.q.weight';
    const t = plan.tensors.find((x) => x.name === q)!;
    for (const [prefix, order] of [['m', 1], ['v', 2]] as const) {
      const fused = values(carried.tensors[`${prefix}.${q}`]);
      assert.deepEqual(t.shape, carried.tensors[`${prefix}.${q}`].shape);
      t.parts.forEach((p, i) => {
        const expected = values(states[i].tensors[`${prefix}.${q}`]).map((x) => x * w[i] ** order);
        assert.ok(maxAbsError(region(fused, t.shape, p.offset, p.shape), expected) < 1e-7, `${prefix} block ${i}`);
      });
      // Off-diagonal blocks: rows of source 1, columns of source 2 and vice versa.
      const [a, b] = t.parts;
      assert.ok(region(fused, t.shape, [a.offset[0], b.offset[1]], [a.shape[0], b.shape[1]]).every((x) => x === 0));
      assert.ok(region(fused, t.shape, [b.offset[0], a.offset[1]], [b.shape[0], a.shape[1]]).every((x) => x === 0));
    }
    // The output layer carries w_i in its value, so its gradient, hence its moments, are the source's.
    const lm = plan.tensors.find((x) => x.name === 'lm_head.weight')!;
    lm.parts.forEach((p, i) => {
      assert.deepEqual(region(values(carried.tensors['v.lm_head.weight']), lm.shape, p.offset, p.shape),
        values(states[i].tensors['v.lm_head.weight']));
    });
  });

  test('Adafactor: factors concatenated along split axes, width-weighted along shared ones', () => {
    for (const tied of [false, true]) {
      const configs = configsFor(tied);
      const plan = planFuse(configs, { weights: w });
      const states = configs.map((c, i) => randomState(c, ADAFACTOR, 10, i + 7));
      const carried = carryOptimizerState(plan, ADAFACTOR, states);
      const src = (i: number, key: string) => values(states[i].tensors[key]);
      const got = (key: string) => values(carried.tensors[key]);
      const close = (a: number[], b: number[], what: string) => assert.ok(maxAbsError(a, b) < 1e-6, `${what} (tied ${tied})`);

      // Block-diagonal weight: both factors concatenated, each × w_i².
      const wo = 'encoder.block.0.layer.1.DenseReluDense.wo.weight';
      close(got(`vr.${wo}`), [0, 1].flatMap((i) => src(i, `vr.${wo}`).map((x) => x * w[i] ** 2)), 'vr of wo');
      close(got(`vc.${wo}`), [0, 1].flatMap((i) => src(i, `vc.${wo}`).map((x) => x * w[i] ** 2)), 'vc of wo');

      // Embedding [V, d] and relative bias [buckets, h]: columns split, rows shared.
      const d = [4, 6];
      close(got('vc.shared.weight'), [0, 1].flatMap((i) => src(i, 'vc.shared.weight').map((x) => x * w[i] ** 2)), 'vc of shared');
      close(got('vr.shared.weight'), src(0, 'vr.shared.weight').map((_, r) =>
        [0, 1].reduce((acc, i) => acc + (d[i] / 10) * w[i] ** 2 * src(i, 'vr.shared.weight')[r], 0)), 'vr of shared');
      const bias = 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight';
      const h = [2, 1];
      close(got(`vr.${bias}`), src(0, `vr.${bias}`).map((_, r) =>
        [0, 1].reduce((acc, i) => acc + (h[i] / 3) * w[i] ** 2 * src(i, `vr.${bias}`)[r], 0)), 'vr of relative bias');

      // Norms (rank 1) have the unfactored v, concatenated.
      const norm = 'encoder.final_layer_norm.weight';
      close(got(`v.${norm}`), [0, 1].flatMap((i) => src(i, `v.${norm}`).map((x) => x * w[i] ** 2)), 'v of a norm');
      // With tied embeddings the decoder's final norm carries w_i·sqrt(d/d_i): gradient × sqrt(d_i/d).
      const final = 'decoder.final_layer_norm.weight';
      const s = (i: number) => (tied ? d[i] / 10 : w[i] ** 2);
      close(got(`v.${final}`), [0, 1].flatMap((i) => src(i, `v.${final}`).map((x) => x * s(i))), 'v of the decoder final norm');
      if (!tied) {
        close(got('vc.lm_head.weight'), [0, 1].flatMap((i) => src(i, 'vc.lm_head.weight')), 'vc of lm_head (unscaled)');
      }
      assert.equal(carried.tensors['v.shared.weight'], undefined, 'Adafactor factors rank-2 tensors');
    }
  });

  test('self-fusion: Adafactor\'s factored estimate on each replica is the source\'s, × w²', () => {
    const [config] = compatibleConfigs(rngFor(4), 1);
    const plan = planSelfFuse(config);
    const state = randomState(config, ADAFACTOR, 5, 4);
    const carried = carryOptimizerState(plan, ADAFACTOR, [state, state]);
    // Adafactor's estimate of the second moment: vr ⊗ vc / mean(vr).
    const estimate = (vr: number[], vc: number[]) => {
      const mean = vr.reduce((a, b) => a + b, 0) / vr.length;
      return vr.flatMap((r) => vc.map((c) => (r * c) / mean));
    };
    for (const t of plan.tensors.filter((x) => x.shape.length === 2)) {
      const source = estimate(values(state.tensors[`vr.${t.name}`]), values(state.tensors[`vc.${t.name}`]));
      const fused = estimate(values(carried.tensors[`vr.${t.name}`]), values(carried.tensors[`vc.${t.name}`]));
      for (const p of t.parts) {
        const s = (0.5 / p.scale) ** 2;
        assert.ok(relativeError(region(fused, t.shape, p.offset, p.shape), source.map((x) => x * s)) < 1e-5, t.name);
      }
    }
  });

  // The scaling rule (w_i / c_i per part) is exact for self-fusion: carrying "first moments" that
  // equal the source's gradient must give the fused model's gradient on every part.
  for (const norm of ['joint', 'grouped'] as const) {
    test(`self-fusion (${norm}): carried gradients equal the fused model's gradients on every part`, () => {
      for (let trial = 0; trial < 4; trial++) {
        const rng = rngFor(trial, 'grads');
        const [config] = compatibleConfigs(rng, 1);
        const copies = trial === 3 ? 3 : 2;
        const source = randomModel(config, trial);
        const fused = selfFuse(source, { copies, norm });
        const plan = planSelfFuse(config, { copies, norm });
        const c = randomCase(config, rng);
        scoped(() => {
          const batch = caseToBatch(c);
          const g = lossAndGrads(config, source.params, batch).grads;
          const G = lossAndGrads(fused.config, fused.params, batch).grads;
          const slot: OptimizerSlot = { prefix: 'g', layout: 'like-param', order: 1, appliesTo: all };
          const gState: OptimizerState = {
            name: 'adamw', step: 0, tensors: Object.fromEntries(Object.entries(g).map(([n, t]) => [`g.${n}`, t])),
          };
          const carried = carryOptimizerState(plan, [slot], plan.sources.map(() => gState));
          for (const t of plan.tensors) {
            for (const p of t.parts) {
              const fusedGrad = region(values(G[t.name]), t.shape, p.offset, p.shape);
              const carriedGrad = region(values(carried.tensors[`g.${t.name}`]), t.shape, p.offset, p.shape);
              const err = relativeError(fusedGrad, carriedGrad);
              assert.ok(err < 1e-4, `trial ${trial} ${t.name} part ${p.source}: relative error ${err}`);
            }
          }
        });
      }
    });
  }

  test('sources must share the optimizer and its hyperparameters; the step is the largest', () => {
    const labels = ['a', 'b'];
    assert.equal(carriedMeta([{ name: 'adamw', step: 3 }, { name: 'adamw', step: 9 }], labels).step, 9);
    assert.throws(() => carriedMeta([{ name: 'adamw', step: 3 }, { name: 'adafactor', step: 3 }], labels),
      /b: optimizer "adafactor" differs from "adamw" of a/);
    assert.throws(() => carriedMeta([{ name: 'adamw', step: 3, hyperparameters: { beta1: 0.9 } },
      { name: 'adamw', step: 3, hyperparameters: { beta1: 0.8 } }], labels), /hyperparameters/);
  });
});
