import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandPlan } from '../../src/plans/graph';
import type { TrainNodeSettings } from '../../src/plans/kinds/train';
import { nodeKinds } from '../../src/plans/kinds';
import { parsePlan } from '../../src/plans/plan';
import { parsePlanText, PlanError } from '../../src/plans/plan_source';
import { bundledPlanNames, loadPlan } from '../../src/plans/run_plan_file';

const parse = (text: string) => parsePlan(parsePlanText(text, 'p.yaml'), nodeKinds);

function refused(text: string, where: RegExp, message: RegExp): void {
  assert.throws(() => parse(text), (e: unknown) => {
    assert.ok(e instanceof PlanError, String(e));
    assert.match(e.where, where);
    assert.match(e.message, message);
    return true;
  });
}

const GOOD = `name: p
nodes:
  a: {train: {preset: tiny, steps: 5, seed: 1}}
  b: {train: {preset: tiny, steps: 5, seed: 2}}
  ab: {fuse: {sources: [a, b], weights: [0.25, 0.75], norm: joint, optimizer_state: carry}}
  more: {train: {from: ab, steps: 3, lr_offset: 5}}
  self: {selfFuse: {source: a, noise: "paired:0.01"}}
  check: {eval: {model: self}}
arms:
  grown: more
  swept: {final: more, sweep: {node: more, field: lr_offset, values: [0, 10]}}
`;

describe('plan files', () => {
  test('a valid plan parses into nodes, inputs and arms; JSON is accepted too', () => {
    const plan = parse(GOOD);
    assert.deepEqual(plan.nodes.map((n) => [n.name, n.kind, n.inputs]), [
      ['a', 'train', []], ['b', 'train', []], ['ab', 'fuse', ['a', 'b']], ['more', 'train', ['ab']], ['self', 'selfFuse', ['a']], ['check', 'eval', ['self']],
    ]);
    assert.deepEqual(plan.arms.map((a) => a.name), ['grown', 'swept']);
    const json = parse(JSON.stringify({ name: 'j', nodes: { x: { train: { preset: 'tiny', steps: 2 } } } }));
    assert.deepEqual(json.arms, [{ name: 'x', final: 'x' }]);
  });

  test('sweeps clone the swept node and what follows it; repeats shift seeds', () => {
    const e = expandPlan(parse(`${GOOD}repeats: 2\n`));
    const swept = e.jobs.filter((j) => j.id.startsWith('more['));
    assert.deepEqual(swept.map((j) => [j.id, (j.settings as TrainNodeSettings).lr_offset]).sort(), [
      ['more[lr_offset=0]@0', 0], ['more[lr_offset=0]@1', 0], ['more[lr_offset=10]@0', 10], ['more[lr_offset=10]@1', 10],
    ]);
    const seeds = e.jobs.filter((j) => j.node === 'a').map((j) => (j.settings as TrainNodeSettings).seed);
    assert.deepEqual(seeds, [1, 1001]);
    // The sweep's ancestors are shared, not cloned.
    assert.equal(e.jobs.filter((j) => j.node === 'ab').length, 2);
  });

  test('a node that reads a swept arm\'s final node alone is cloned with it, so each value gets its own measurement', () => {
    const e = expandPlan(parse(GOOD.replace('arms:', '  score: {eval: {model: more}}\n  both: {fuse: {sources: [more, a]}}\narms:')));
    const readers = (node: string) => e.jobs.filter((j) => j.node === node).map((j) => [j.id, j.inputs]);
    assert.deepEqual(readers('score'), [
      ['score[lr_offset=0]', ['more[lr_offset=0]']], ['score[lr_offset=10]', ['more[lr_offset=10]']], ['score', ['more']],
    ]);
    // A node that reads other nodes too is not a measurement of the arm: it stays one job.
    assert.deepEqual(readers('both'), [['both', ['more', 'a']]]);
  });

  test('a swept value equal to the default is the same job as the unswept node (the same key)', () => {
    const e = expandPlan(parse(`name: p
nodes:
  a: {train: {preset: tiny, steps: 5, seed: 1}}
  more: {train: {from: a, steps: 3}}
arms:
  plain: more
  swept: {final: more, sweep: {node: more, field: lr_offset, values: [0, 10]}}
`));
    const key = (id: string): string => (e.jobs.find((j) => j.id === id) as { key: string }).key;
    assert.equal(key('more[lr_offset=0]'), key('more'));
    assert.notEqual(key('more[lr_offset=10]'), key('more'));
  });

  test('errors point at the line and field, and say the fix', () => {
    refused('name: p\nnodes:\n  a: {train: {preset: tiny, steps: five}}\n', /^p\.yaml:3:/, /nodes\.a\.train\.steps: expected an integer in \[0, 100000000\], got "five"/);
    refused('name: p\nnodes:\n  a: {train: {preset: huge, steps: 5}}\n', /^p\.yaml:3:/, /preset: expected one of tiny, s, m, l, got "huge".*Fix: set "preset" to one of tiny, s, m, l/);
    refused('name: p\nnodes:\n  a: {trian: {steps: 5}}\n', /^p\.yaml:3:/, /a node has exactly one kind.*train, fuse, selfFuse, eval/);
    refused('name: p\nnodes:\n  a: {fuse: {sources: [x, y]}}\n', /^p\.yaml:3:/, /reads node "x", which the plan does not define/);
    refused('name: p\nnodes:\n  a: {train: {from: b, steps: 1}}\n  b: {train: {from: a, steps: 1}}\n', /^p\.yaml:3:/, /cycle: a → b → a/);
    refused('name: p\ndata: {vocab_sise: 9}\nnodes:\n  a: {train: {preset: tiny, steps: 1}}\n', /^p\.yaml:2:/, /data\.vocab_sise: is not a data setting/);
    refused('name: p\nnodes:\n  a: {train: {preset: tiny, steps: 1, corpus: x}}\n', /^p\.yaml:3:/, /corpus: is a data setting of the whole plan.*Fix: set it under data:/);
    refused('name: p\ndefaults: {optimizer: adamm}\nnodes:\n  a: {train: {preset: tiny, steps: 1}}\n', /^p\.yaml:2:/, /defaults\.optimizer/);
    refused('name: p\nnodes:\n  a: {selfFuse: {source: a, noise: "loud:1"}}\n', /^p\.yaml:3:/, /noise: expected paired:<std>, plain:<std> or none/);
    refused('name: p\nnodes:\n  a: {train: {preset: tiny, steps: 1}}\n  b: {train: {preset: tiny, steps: 1}}\n  f: {fuse: {sources: [a, b], weights: [0.9, 0.2]}}\n',
      /^p\.yaml:5:/, /weights/);
    refused(`${GOOD}baseline: nobody\n`, /^p\.yaml:\d+:/, /baseline: names no arm/);
    refused('name: p\nnodes:\n  a: {train: {preset: tiny, steps: 1}\n', /^p\.yaml:\d+:\d+$/, /is not valid YAML\/JSON/);
  });

  test('precision: a plan default, overridden from the command line, and a node\'s own wins; jobs in other precisions have other keys', () => {
    const text = 'name: p\ndefaults: {precision: bf16}\nnodes:\n  a: {train: {preset: tiny, steps: 1}}\n  b: {train: {preset: tiny, steps: 1, precision: fp32}}\n';
    const precisions = (plan: ReturnType<typeof parse>) => plan.nodes.map((n) => (n.settings as TrainNodeSettings).precision);
    const overridden = parsePlan(parsePlanText(text, 'p.yaml'), nodeKinds, { precision: 'fp32' });
    assert.deepEqual(precisions(overridden), ['fp32', 'fp32']);
    const fp32 = expandPlan(overridden).jobs;
    const asked = expandPlan(parse(text)).jobs;
    // bf16 where the machine computes it, else fp32 (with a warning): a key always says what ran.
    const a = (asked[0].settings as TrainNodeSettings).precision;
    assert.equal(asked[1].key, fp32[1].key, 'the node that sets fp32 itself is the same job');
    assert.equal(asked[0].key === fp32[0].key, a === 'fp32');
    refused('name: p\ndefaults: {precision: fp16}\nnodes:\n  a: {train: {preset: tiny, steps: 1}}\n', /^p\.yaml:2:/, /defaults\.precision.*one of bf16, fp32/);
  });

  test('every bundled plan parses', () => {
    assert.deepEqual(bundledPlanNames(), ['demo', 'figure2', 'figure5', 'figure5-small', 'lr-offset', 'lr-offset-small', 'table1']);
    for (const name of bundledPlanNames()) assert.ok(expandPlan(loadPlan(name)).jobs.length > 0, name);
  });
});
