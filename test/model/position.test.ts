import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bucketMatrix, relativePositionBucket } from '../../src/model/position';

describe('relative position buckets', () => {
  const opts = { bidirectional: true, numBuckets: 32, maxDistance: 128 };

  test('the matrix holds the bucket of key − query at every position', () => {
    const m = bucketMatrix(5, 7, opts);
    assert.equal(m.length, 35);
    for (let q = 0; q < 5; q++) {
      for (let k = 0; k < 7; k++) assert.equal(m[q * 7 + k], relativePositionBucket(k - q, opts));
    }
    // Causal buckets differ from bidirectional ones for keys after the query.
    assert.notDeepEqual(bucketMatrix(5, 7, { ...opts, bidirectional: false }), m);
  });

  test('a kept matrix is handed out as a copy: writing to one does not reach the next caller', () => {
    const first = bucketMatrix(128, 128, opts);
    const expected = first.slice();
    first.fill(-1);
    const second = bucketMatrix(128, 128, opts);
    assert.notEqual(second, first);
    assert.deepEqual(second, expected);
  });
});
