import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { broadcastLayout, broadcastShapes, reduceLayout, transposeLayout } from '../../../src/engine/native/layout';

describe('native layout helpers', () => {
  test('broadcastShapes follows NumPy rules', () => {
    assert.deepEqual(broadcastShapes([3, 1, 5], [4, 5]), [3, 4, 5]);
    assert.deepEqual(broadcastShapes([], [2]), [2]);
    assert.deepEqual(broadcastShapes([0, 3], [3]), [0, 3]);
    assert.equal(broadcastShapes([2, 3], [3, 2]), null);
  });

  test('broadcastLayout merges contiguous axes and drops size-1 axes', () => {
    assert.deepEqual([...broadcastLayout([2, 3, 4], [2, 3, 4], [2, 3, 4])], [1, 24, 1, 1]);
    assert.deepEqual([...broadcastLayout([2, 3, 4], [2, 3, 4], [4])], [2, 6, 4, 4, 1, 0, 1]);
    assert.deepEqual([...broadcastLayout([2, 3, 4], [2, 3, 4], [2, 3, 1])], [2, 6, 4, 4, 1, 1, 0]);
    assert.deepEqual([...broadcastLayout([5], [], [5])], [1, 5, 0, 1]);
    assert.deepEqual([...broadcastLayout([1, 1], [1, 1], [1])], [1, 1, 0, 0]);
  });

  test('transposeLayout merges axes that move together and spots no-op permutations', () => {
    assert.deepEqual([...transposeLayout([2, 3, 4, 5], [0, 2, 1, 3])!], [4, 2, 3, 4, 5, 0, 2, 1, 3]);
    assert.deepEqual([...transposeLayout([2, 3, 4], [2, 0, 1])!], [2, 6, 4, 1, 0]);
    assert.deepEqual([...transposeLayout([6, 7], [1, 0])!], [2, 6, 7, 1, 0]);
    assert.equal(transposeLayout([2, 3, 4], [0, 1, 2]), null);
    assert.equal(transposeLayout([1, 5, 1], [2, 1, 0]), null);
    assert.deepEqual([...transposeLayout([2, 1, 3], [2, 1, 0])!], [2, 2, 3, 1, 0]);
  });

  test('reduceLayout views adjacent axes in place and moves the others last', () => {
    assert.deepEqual(reduceLayout([3, 4, 5], [1]), { perm: null, outer: 3, n: 4, inner: 5 });
    assert.deepEqual(reduceLayout([3, 4, 5], [1, 2]), { perm: null, outer: 3, n: 20, inner: 1 });
    assert.deepEqual(reduceLayout([3, 4, 5], [0, 2]), { perm: [1, 0, 2], outer: 4, n: 15, inner: 1 });
    assert.deepEqual(reduceLayout([3, 1, 5], [0, 2]), { perm: null, outer: 1, n: 15, inner: 1 });
    assert.deepEqual(reduceLayout([3, 4], [1]).n, 4);
  });
});
