import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { buildBatch, toSeq2SeqBatch } from '../../src/data/batch';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { makeConfig } from '../../src/model/config';
import { disposeParams, initParams } from '../../src/model/params';
import { forward } from '../../src/model/t5';
import { candidateLogLikelihoods, rankCandidates } from '../../src/training/task_scoring';
import { TEST_BACKENDS } from '../helpers/backends';

const CONFIG = makeConfig({ vocab_size: 64, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 2, num_heads: 4 });
const ROWS = [[5, 9, 11, 1], [7, 1], [20, 21, 22, 23, 24, 25, 1], [5, 9, 11, 1]];
const CANDIDATES = [[30, 1], [31, 32, 1], [33, 1], [30, 34, 35, 1]];

describe('task scoring', () => {
  after(async () => { await initEngine('cpu'); });
  for (const backend of TEST_BACKENDS) {
    test(`${backend}: a candidate's log-likelihood is minus the teacher-forced loss summed over its tokens; ranking picks the largest`, async () => {
      await initEngine(backend);
      const params = initParams(CONFIG, 3);
      const start = tf.memory().numTensors;
      const scores = candidateLogLikelihoods(CONFIG, params, ROWS, 8, CANDIDATES);
      assert.equal(tf.memory().numTensors, start, 'no tensor is left behind');
      ROWS.forEach((row, r) => {
        CANDIDATES.forEach((c, k) => {
          const batch = toSeq2SeqBatch(buildBatch([{ inputs: row, targets: c }], 8, c.length, 0));
          const loss = tf.tidy(() => (forward(CONFIG, params, batch).loss as tf.Tensor).dataSync()[0]);
          tf.dispose(Object.values(batch));
          assert.ok(Math.abs(scores[r][k] + loss * c.length) < 2e-4, `row ${r}, candidate ${k}: ${scores[r][k]} vs ${-loss * c.length}`);
        });
      });
      assert.deepEqual(scores[0], scores[3], 'the same input scores the same in any row');
      const ranked = rankCandidates(CONFIG, params, ROWS, 8, CANDIDATES);
      assert.deepEqual(ranked, scores.map((s) => s.indexOf(Math.max(...s))));
      disposeParams(params);
    });
  }
});
