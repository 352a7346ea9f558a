import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ownerMap, restrict } from '../../src/analysis/blocks';
import { lieBracket } from '../../src/analysis/bracket';
import { lossField } from '../../src/analysis/gradient_field';
import { replicaStatsOf } from '../../src/analysis/replicas';
import type { ParamLayout } from '../../src/analysis/vectors';
import { dot, norm } from '../../src/analysis/vectors';
import { initEngine } from '../../src/engine/backend';
import { fuse, selfFuse } from '../../src/fusion/fuse';
import { planFuse } from '../../src/fusion/fuse';
import { caseToBatch } from '../../src/model/case';
import { makeConfig } from '../../src/model/config';
import { disposeParams, paramSpecs } from '../../src/model/params';
import { lossAndGrads } from '../../src/model/t5';
import { TEST_BACKENDS } from '../helpers/backends';
import { randomCase, randomModel, rngFor } from '../fusion/helpers';
import { normals, quadratic } from './helpers';

const CONFIG = makeConfig({ vocab_size: 30, d_model: 8, d_kv: 4, d_ff: 12, num_layers: 1, num_heads: 2, relative_attention_num_buckets: 8 });
const OTHER = makeConfig({ ...CONFIG, d_model: 6, num_heads: 1, d_ff: 10 });

function layoutOf(config: typeof CONFIG): ParamLayout {
  const specs = paramSpecs(config);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  return { names: specs.map((s) => s.name), shapes: specs.map((s) => s.shape), offsets, sizes, size: sizes.reduce((a, b) => a + b, 0) };
}

describe('the Lie bracket of the sources\' gradient fields', () => {
  test('on a quadratic with a known cross-Hessian it is (−H_AB g_B, H_BA g_A), and zero without coupling', () => {
    const plan = planFuse([CONFIG, OTHER]);
    const layout = layoutOf(plan.config);
    const n = layout.size;
    const d = normals(n, 1).map((x) => 0.5 + Math.abs(x));
    const u = normals(n, 2);
    const theta0 = normals(n, 3);
    for (const c of [0, 0.3]) {
      // H = diag(d) + c·uuᵀ: the diagonal part couples nothing, the rank-one part couples every pair of entries.
      const q = quadratic(layout, d, u, c, theta0);
      const owner = ownerMap(plan, layout);
      const g = q.hv(theta0);
      const [gA, gB] = [restrict(g, owner, 0), restrict(g, owner, 1)];
      const [uA, uB] = [restrict(u, owner, 0), restrict(u, owner, 1)];
      const expected = Math.abs(c) * Math.hypot(norm(uA) * dot(u, gB), norm(uB) * dot(u, gA));
      const r = lieBracket(q, plan, { radius: 1e-3 });
      assert.equal(r.pairs.length, 1);
      assert.ok(Math.abs(r.pairs[0].bracket_norm - expected) <= 1e-8 * (1 + expected), `c ${c}: ${r.pairs[0].bracket_norm} vs ${expected}`);
      assert.ok(Math.abs(r.pairs[0].relative_to_grad_squared - expected / dot(g, g)) < 1e-10);
      assert.ok(Math.abs(r.source_grad_norms[0] - norm(gA)) < 1e-9 && Math.abs(r.source_grad_norms[1] - norm(gB)) < 1e-9);
    }
  });

  test('the owner map gives every entry of every tensor to one source, except off-diagonal blocks', () => {
    const plan = planFuse([CONFIG, OTHER]);
    const layout = layoutOf(plan.config);
    const owner = ownerMap(plan, layout);
    const count = (i: number) => owner.reduce((s, o) => s + (o === i ? 1 : 0), 0);
    const size = (c: typeof CONFIG) => paramSpecs(c).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(count(1), size(CONFIG));
    assert.equal(count(2), size(OTHER));
    assert.equal(count(0), layout.size - size(CONFIG) - size(OTHER));
  });

  for (const backend of TEST_BACKENDS) {
    describe(`on ${backend}, fused T5s`, () => {
      before(async () => { await initEngine(backend); });

      test('self-fusion without noise: the replicas get the same gradient; paired noise makes them differ', () => {
        const source = randomModel(CONFIG, 5);
        const c = randomCase(CONFIG, rngFor(5));
        const batch = caseToBatch(c);
        for (const noise of [{ kind: 'none' as const }, { kind: 'paired' as const, std: 0.05 }]) {
          const fused = selfFuse(source, { noise, seed: 1 });
          const plan = planFuse([CONFIG, CONFIG], { norm: 'joint' });
          const r = lossAndGrads(fused.config, fused.params, batch);
          const stats = replicaStatsOf(plan, fused.params, r.grads);
          if (noise.kind === 'none') {
            assert.equal(stats.grad_difference, 0, 'measured, not assumed: equal to the last bit');
            assert.equal(stats.distance, 0);
            assert.ok(Math.abs((stats.grad_cos as number) - 1) < 1e-6);
          } else {
            assert.ok((stats.grad_difference as number) > 1e-3, String(stats.grad_difference));
          }
          r.loss.dispose();
          disposeParams(r.grads);
          disposeParams(fused.params);
        }
        disposeParams(source.params);
        for (const t of Object.values(batch)) t?.dispose();
      });

      test('two different models fused (grouped): a non-zero bracket, a share of the curvature below 1', () => {
        const a = randomModel(CONFIG, 1);
        const b = randomModel(OTHER, 2);
        const fused = fuse([a, b]);
        const batch = caseToBatch(randomCase(CONFIG, rngFor(7)));
        try {
          const r = lieBracket(lossField(fused.config, fused.params, batch), planFuse([CONFIG, OTHER]));
          const p = r.pairs[0];
          assert.ok(p.bracket_norm > 0 && p.relative_to_hvp > 0 && p.relative_to_hvp < 1, JSON.stringify(p));
          assert.ok(r.hvp.agreement < 1e-2, JSON.stringify(r.hvp));
        } finally {
          for (const m of [a, b, fused]) disposeParams(m.params);
          for (const t of Object.values(batch)) t?.dispose();
        }
      });
    });
  }
});
