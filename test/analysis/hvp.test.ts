import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { lossField } from '../../src/analysis/gradient_field';
import { calibrateRadius, hessianVectorProduct } from '../../src/analysis/hvp';
import { distance, flatten, norm } from '../../src/analysis/vectors';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { loadModel, readJsonFile } from '../../src/io/checkpoint';
import { SafetensorsReader } from '../../src/io/safetensors';
import { caseToBatch, parseCase } from '../../src/model/case';
import { disposeParams, type Params } from '../../src/model/params';
import { TEST_BACKENDS } from '../helpers/backends';
import { fixtureCase, fixtureModelDir } from '../helpers/fixtures';
import { DYNAMICS_FIXTURE, flatLayout, normals, quadratic } from './helpers';

describe('Hessian-vector products by differences of gradients', () => {
  test('are exact (to float64 rounding) on a quadratic, at any radius', () => {
    const n = 500;
    const q = quadratic(flatLayout(n), normals(n, 1).map(Math.abs), normals(n, 2), 0.7, normals(n, 3));
    const v = normals(n, 4);
    const exact = q.hv(v);
    for (const r of [1e-4, 1e-2, 1]) {
      const got = hessianVectorProduct(q, new Float64Array(n), v, r);
      assert.ok(distance(got, exact) / norm(exact) < 1e-8, `radius ${r}: ${distance(got, exact) / norm(exact)}`);
    }
    assert.deepEqual(hessianVectorProduct(q, new Float64Array(n), new Float64Array(n), 1e-3), new Float64Array(n));
    // Five gradients per product: four differences, none for a zero vector.
    assert.equal(q.evaluations, 12);
  });

  for (const backend of TEST_BACKENDS) {
    describe(`on ${backend}, against the float64 H·g of the t5-v11-tiny fixture (scripts/dynamics_reference.py)`, () => {
      before(async () => { await initEngine(backend); });

      test('the calibrated radius gives H·g to 1e-3, and the calibration\'s own error estimate is honest', () => {
        const name = 't5-v11-tiny';
        const { config, params } = loadModel(fixtureModelDir(name));
        const batch = caseToBatch(parseCase(readJsonFile(fixtureCase(name), 'case'), config, 'case'));
        const reader = SafetensorsReader.open(path.join(DYNAMICS_FIXTURE, 'hvp.safetensors'));
        try {
          const field = lossField(config, params, batch);
          const expected: Params = Object.fromEntries(field.layout.names.map((n, i) => [n, tf.tensor(reader.readFloat32(`hvp.${n}`), field.layout.shapes[i])]));
          const exact = flatten(field.layout, expected);
          disposeParams(expected);
          const zero = new Float64Array(field.layout.size);
          const g = field.at(zero).grad;
          const calibration = calibrateRadius(field, zero, g);
          const error = distance(hessianVectorProduct(field, zero, g, calibration.radius), exact) / norm(exact);
          assert.ok(error < 1e-3, `relative error ${error} at radius ${calibration.radius}`);
          assert.ok(calibration.agreement < 1e-3 && error < 10 * calibration.agreement + 1e-6,
            `error ${error}, estimated ${calibration.agreement}`);
          // Too small a radius drowns in float32 rounding, too large a one in truncation.
          const worst = Math.max(...[1e-6, 1].map((r) => distance(hessianVectorProduct(field, zero, g, r), exact) / norm(exact)));
          assert.ok(worst > 10 * error, `${worst} vs ${error}`);
        } finally {
          reader.close();
          disposeParams(params);
          for (const t of Object.values(batch)) t?.dispose();
        }
      });
    });
  }
});

test('the float64 reference fixture is present', () => {
  assert.ok(fs.existsSync(path.join(DYNAMICS_FIXTURE, 'modified_loss.json')));
});
