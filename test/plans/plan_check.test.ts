import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors';
import { nodeKinds } from '../../src/plans/kinds';
import { parsePlan } from '../../src/plans/plan';
import { checkPlan, MAX_JOBS } from '../../src/plans/plan_check';
import { parsePlanText, PlanError } from '../../src/plans/plan_source';
import { bundledPlanNames, loadPlan } from '../../src/plans/run_plan_file';

const parse = (text: string) => parsePlan(parsePlanText(text, 'p.yaml'), nodeKinds);
const check = (text: string) => checkPlan(parse(text), nodeKinds, 8192);

function refused(text: string, message: RegExp): void {
  assert.throws(() => check(text), (e: unknown) => e instanceof UserError && message.test(e.message));
}

describe('a plan is checked whole before any job runs', () => {
  test('sources that cannot be fused are refused at the fusing node, naming both sources', () => {
    refused('name: p\nnodes:\n  a: {train: {preset: s, steps: 5}}\n  b: {train: {preset: tiny, steps: 5}}\n  f: {fuse: {sources: [a, b]}}\n',
      /^p\.yaml:5:\d+: node f: node b: field "num_layers": is 2 but node a has 4\. Fix: fuse models that agree on "num_layers"/);
    // Through a chain: a model continued from a fusion keeps the fusion's shape.
    refused(`name: p
nodes:
  a: {train: {preset: s, steps: 5}}
  b: {train: {preset: s, steps: 5}}
  f: {fuse: {sources: [a, b]}}
  g: {train: {from: f, steps: 5}}
  c: {train: {preset: tiny, steps: 5}}
  h: {fuse: {sources: [g, c], norm: joint}}
`, /^p\.yaml:8:\d+: node h: node c: field "num_layers": is 2 but node g has 4/);
  });

  test('compatible plans pass, the bundled ones included', () => {
    check('name: p\nnodes:\n  a: {train: {preset: s, steps: 5}}\n  b: {train: {preset: s, steps: 5}}\n  f: {fuse: {sources: [a, b]}}\n' +
      '  g: {train: {from: f, steps: 5}}\n  s: {selfFuse: {source: g, copies: 3}}\n  e: {eval: {model: s}}\n');
    for (const name of bundledPlanNames()) checkPlan(loadPlan(name), nodeKinds, 8192);
  });

  test('a model that cannot fit in memory, and a vocabulary larger than the model\'s, are refused', () => {
    refused('name: p\nnodes:\n  a: {train: {model: {d_model: 100000, d_ff: 400000, num_heads: 8, d_kv: 64, num_layers: 24, vocab_size: 8192}, steps: 5}}\n',
      /^p\.yaml:3:\d+: node a: .*field "d_model": the model has [\d.e+]+ parameters, and training it needs at least [\d.]+ TiB .*more than this machine's/);
    refused('name: p\nnodes:\n  a: {train: {model: {d_model: 64, d_ff: 128, num_heads: 2, d_kv: 32, num_layers: 2, vocab_size: 100}, steps: 5}}\n',
      /node a: .*field "vocab_size": 100 is smaller than the tokenizer's 8192 ids/);
  });

  test('sizes out of all proportion are refused: repeats, and the jobs repeats and sweeps make', () => {
    assert.throws(() => parse('name: p\nrepeats: 1000000\nnodes:\n  a: {train: {preset: tiny, steps: 5}}\n'),
      (e: unknown) => e instanceof PlanError && /repeats: expected an integer in \[1, 1000\], got 1000000/.test(e.message));
    const values = Array.from({ length: 20 }, (_, i) => i);
    refused(`name: p\nrepeats: 1000\nnodes:\n  a: {train: {preset: tiny, steps: 5}}\narms:\n  s: {final: a, sweep: {node: a, field: lr_offset, values: [${values}]}}\n`,
      new RegExp(`p\\.yaml: the plan expands to \\d+ jobs .*more than ${MAX_JOBS}`));
  });

  test('an empty plan file says what to write', () => {
    assert.throws(() => parse(''), /expected a mapping \(the plan\)\. Fix: write the plan as key: value lines/);
  });
});
