import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capByHash, hashSplit, type TaskExample } from '../../../src/data/tasks';

const examples = (n: number, groups: number, classes: number): TaskExample[] =>
  Array.from({ length: n }, (_, i) => ({ id: `e${i}`, input: `group ${i % groups}`, label: (i % groups) % classes }));

describe('hash splits and caps', () => {
  const all = examples(3000, 600, 3);
  const opts = { group: (e: TaskExample) => e.input, stratum: (e: TaskExample) => String(e.label), validation: 0.1, test: 0.1 };

  test('a group never spans two splits, every example lands once, the shares are as asked within each class', () => {
    const s = hashSplit(all, opts);
    assert.equal(s.train.length + s.validation.length + s.test.length, all.length);
    const where = new Map<string, string>();
    for (const [name, list] of Object.entries(s)) {
      for (const e of list) {
        assert.ok(!where.has(e.input) || where.get(e.input) === name, `group ${e.input} is in ${where.get(e.input)} and ${name}`);
        where.set(e.input, name);
      }
    }
    for (const label of [0, 1, 2]) {
      const groups = (list: TaskExample[]) => new Set(list.filter((e) => e.label === label).map((e) => e.input)).size;
      assert.equal(groups(s.test), 20, `class ${label}: 10% of its 200 groups in test`);
      assert.equal(groups(s.validation), 20, `class ${label}: 10% in validation`);
    }
  });

  test('the split depends on the data, not its order, and a class of three groups still has one in each held-out split', () => {
    const a = hashSplit(all, opts);
    const b = hashSplit([...all].reverse(), opts);
    const ids = (list: TaskExample[]) => list.map((e) => e.id).sort();
    assert.deepEqual(ids(a.test), ids(b.test));
    assert.deepEqual(ids(a.validation), ids(b.validation));
    const small = hashSplit(examples(3, 3, 1), opts);
    assert.deepEqual([small.train.length, small.validation.length, small.test.length], [1, 1, 1]);
    const none = hashSplit(all, { ...opts, test: 0 });
    assert.equal(none.test.length, 0, 'a share of 0 holds out nothing');
  });

  test('caps take the examples of the lowest id hashes: a smaller cap is a subset of a larger one', () => {
    const ten = capByHash(all, 10).map((e) => e.id);
    const hundred = new Set(capByHash(all, 100).map((e) => e.id));
    assert.equal(ten.length, 10);
    assert.ok(ten.every((id) => hundred.has(id)));
    assert.deepEqual(capByHash([...all].reverse(), 10).map((e) => e.id), ten, 'independent of order');
    assert.equal(capByHash(all, 1e9).length, all.length);
  });
});
