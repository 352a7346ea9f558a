import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/util/rng';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

describe('Rng', () => {
  test('the same seed and streams give the same sequence; others give different ones', () => {
    assert.deepEqual(draw(Rng.fromSeed(7), 20), draw(Rng.fromSeed(7), 20));
    assert.deepEqual(draw(Rng.fromSeed(7, 3, 4), 20), draw(Rng.fromSeed(7, 3, 4), 20));
    const sequences = [Rng.fromSeed(7), Rng.fromSeed(8), Rng.fromSeed(7, 0), Rng.fromSeed(7, 1), Rng.fromSeed(7, 0, 1),
      Rng.fromSeed(7 + 2 ** 32)].map((r) => draw(r, 4).join());
    assert.equal(new Set(sequences).size, sequences.length);
  });

  test('state() is JSON-serialisable and fromState continues the same sequence', () => {
    const a = Rng.fromSeed(42);
    draw(a, 5);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const expected = [a.uniform(), a.integer(1000), a.normal(), a.nextUint32()];
    const b = Rng.fromState(saved);
    assert.deepEqual([b.uniform(), b.integer(1000), b.normal(), b.nextUint32()], expected);
  });

  test('fromState refuses states that are not four unsigned 32-bit words', () => {
    assert.throws(() => Rng.fromState([1, 2, 3] as never), /four unsigned 32-bit/);
    assert.throws(() => Rng.fromState([1, 2, 3, -1]), /four unsigned 32-bit/);
    assert.throws(() => Rng.fromState([0, 0, 0, 0]), /all-zero/);
  });

  test('uniform lies in [0, 1) with mean 1/2; integer(n) hits every value about equally', () => {
    const rng = Rng.fromSeed(1);
    const u = Array.from({ length: 20000 }, () => rng.uniform());
    assert.ok(u.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5) < 0.01);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[rng.integer(7)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `count ${c}`);
    assert.throws(() => rng.integer(0), /n must be/);
  });

  test('normal has the asked mean and standard deviation', () => {
    const rng = Rng.fromSeed(2);
    const x = Array.from({ length: 20000 }, () => rng.normal(3, 2));
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    assert.ok(Math.abs(mean - 3) < 0.05, `mean ${mean}`);
    assert.ok(Math.abs(std - 2) < 0.05, `std ${std}`);
  });

  test('shuffle permutes in place, deterministically per seed, every position reachable', () => {
    const a = Rng.fromSeed(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(Rng.fromSeed(3).shuffle(Int32Array.from({ length: 50 }, (_, i) => i)), Int32Array.from(a));
    const firstSeen = new Set<number>();
    const rng = Rng.fromSeed(4);
    for (let i = 0; i < 200; i++) firstSeen.add(rng.shuffle([0, 1, 2, 3, 4])[0]);
    assert.equal(firstSeen.size, 5);
  });
});
