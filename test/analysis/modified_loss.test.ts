import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { lossField } from '../../src/analysis/gradient_field';
import { defaultStepSizes, integrate, logLogSlope, modifiedLossGap } from '../../src/analysis/modified_loss';
import { distance, norm, scaled } from '../../src/analysis/vectors';
import { initEngine } from '../../src/engine/backend';
import { loadModel, readJsonFile } from '../../src/io/checkpoint';
import { caseToBatch, parseCase } from '../../src/model/case';
import { disposeParams } from '../../src/model/params';
import { TEST_BACKENDS } from '../helpers/backends';
import { fixtureCase, fixtureModelDir } from '../helpers/fixtures';
import { DYNAMICS_FIXTURE, flatLayout, normals, quadratic } from './helpers';

interface Reference { rows: Array<{ h: number; gd_vs_flow: number; gd_vs_modified_flow: number }>; slope_flow: number; slope_modified_flow: number }

describe('the modified loss of gradient descent', () => {
  test('log-log slopes are least-squares fits', () => {
    assert.ok(Math.abs(logLogSlope([1, 2, 4], [3, 12, 48]) - 2) < 1e-12);
    assert.ok(Math.abs(logLogSlope([0.1, 0.2, 0.4, 0.8], [1e-3, 8e-3, 6.4e-2, 0.512]) - 3) < 1e-12);
    assert.deepEqual(defaultStepSizes(10), [0.0003, 0.000533, 0.000949, 0.00169, 0.003]);
  });

  test('RK4 integrates a linear flow to its closed form', () => {
    const n = 50;
    const d = normals(n, 1).map((x) => 1 + Math.abs(x));
    const theta0 = normals(n, 2);
    const flow = integrate((delta) => theta0.map((t, i) => -d[i] * (t + delta[i])), n, 0.2, 8);
    const exact = theta0.map((t, i) => t * (Math.exp(-0.2 * d[i]) - 1));
    assert.ok(distance(flow, exact) / norm(exact) < 1e-7);
  });

  test('on a quadratic (float64): the gaps match their closed forms and fall as h² and h³', () => {
    const n = 200;
    const d = normals(n, 3).map((x) => 0.5 + Math.abs(x));
    const theta0 = normals(n, 4);
    const q = quadratic(flatLayout(n), d, new Float64Array(n), 0, theta0);
    const r = modifiedLossGap(q, { substeps: 8, radius: 1e-3 });
    for (const row of r.rows) {
      // GD: (1 − hD)θ₀; flow of L: e^{−hD}θ₀; flow of L̃ = L + (h/4)‖Dθ‖²: e^{−h(D + hD²/2)}θ₀.
      const gd = theta0.map((t, i) => (1 - row.h * d[i]) * t);
      const flow = theta0.map((t, i) => Math.exp(-row.h * d[i]) * t);
      const modified = theta0.map((t, i) => Math.exp(-row.h * (d[i] + (row.h * d[i] ** 2) / 2)) * t);
      assert.ok(Math.abs(row.gd_vs_flow / distance(gd, flow) - 1) < 1e-6, `h ${row.h}`);
      assert.ok(Math.abs(row.gd_vs_modified_flow / distance(gd, modified) - 1) < 1e-4, `h ${row.h}`);
    }
    assert.ok(Math.abs(r.slope_flow - 2) < 0.05, String(r.slope_flow));
    assert.ok(Math.abs(r.slope_modified_flow - 3) < 0.05, String(r.slope_modified_flow));
    assert.ok(Math.abs(r.curvature - norm(scaled(1, q.hv(q.hv(theta0)))) / norm(q.hv(theta0))) < 1e-6);
  });

  for (const backend of TEST_BACKENDS) {
    describe(`on ${backend}, a T5 in float32 against the float64 reference`, () => {
      before(async () => { await initEngine(backend); });

      test('t5-v11-tiny: the distances agree with float64 and the slopes are 2 and 3', () => {
        const reference = readJsonFile(path.join(DYNAMICS_FIXTURE, 'modified_loss.json'), 'reference') as Reference;
        const name = 't5-v11-tiny';
        const { config, params } = loadModel(fixtureModelDir(name));
        const batch = caseToBatch(parseCase(readJsonFile(fixtureCase(name), 'case'), config, 'case'));
        try {
          const r = modifiedLossGap(lossField(config, params, batch), { h: reference.rows.map((x) => x.h), substeps: 2, radius: 1e-2 });
          r.rows.forEach((row, i) => {
            const ref = reference.rows[i];
            assert.ok(Math.abs(row.gd_vs_flow / ref.gd_vs_flow - 1) < 0.01, `h ${row.h}: ${row.gd_vs_flow} vs ${ref.gd_vs_flow}`);
            assert.ok(Math.abs(row.gd_vs_modified_flow / ref.gd_vs_modified_flow - 1) < 0.05, `h ${row.h}: ${row.gd_vs_modified_flow} vs ${ref.gd_vs_modified_flow}`);
          });
          assert.ok(Math.abs(r.slope_flow - 2) < 0.1 && Math.abs(r.slope_flow - reference.slope_flow) < 0.02, String(r.slope_flow));
          assert.ok(Math.abs(r.slope_modified_flow - 3) < 0.1 && Math.abs(r.slope_modified_flow - reference.slope_modified_flow) < 0.05, String(r.slope_modified_flow));
        } finally {
          disposeParams(params);
          for (const t of Object.values(batch)) t?.dispose();
        }
      });
    });
  }
});
