import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from '../../src/util/stats';

test('the median is the middle value, or the mean of the two middle ones, of the values sorted', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([0.9, 0.2]), (0.2 + 0.9) / 2);
  assert.equal(median([5]), 5);
  assert.ok(Number.isNaN(median([])));
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2], 'the input keeps its order');
});
