import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors';
import { expandPlan } from '../../src/plans/graph';
import { nodeKinds } from '../../src/plans/kinds';
import { parsePlan } from '../../src/plans/plan';
import { PLAN_SELECT_SETTINGS, selectFromPlan, selectionOutDir } from '../../src/plans/plan_select';
import { parsePlanText } from '../../src/plans/plan_source';
import { loadPlan } from '../../src/plans/run_plan_file';
import { runCli } from '../helpers/cli';

const PLAN = `name: p
nodes:
  a: {train: {preset: tiny, steps: 5, seed: 1}}
  b: {train: {preset: tiny, steps: 5, seed: 2}}
  ab: {fuse: {sources: [a, b], norm: grouped}}
  more: {train: {from: ab, steps: 3, seed: 3}}
  scratch: {train: {preset: tiny, steps: 9, seed: 4}}
  check: {eval: {model: more}}
  both: {analyze: {what: heatmap, runs: [more, scratch]}}
arms:
  from scratch: scratch
  fusion: more
baseline: from scratch
`;

const plan = () => parsePlan(parsePlanText(PLAN, 'p.yaml'), nodeKinds);
const flags = (values: Record<string, unknown>) =>
  PLAN_SELECT_SETTINGS.resolve([{ values: PLAN_SELECT_SETTINGS.fromArgs(values), source: 'deepfusion run', fromFlags: true }]);

describe('part of a plan (run --arms, --repeats)', () => {
  test('a part writes beside the whole plan by default, never into its directory', () => {
    assert.equal(selectionOutDir(plan(), flags({})), undefined, 'the whole plan keeps runs/<plan>');
    assert.equal(selectionOutDir(plan(), flags({ arms: 'from scratch', repeats: '3' })), path.join('runs', 'p-from-scratch-r3'));
    assert.equal(selectionOutDir(plan(), flags({ repeats: '2' })), path.join('runs', 'p-r2'));
    assert.equal(selectionOutDir(plan(), flags({ arms: 'fusion,from scratch' })), path.join('runs', 'p-fusion-from-scratch-r1'));
  });

  test('an arm keeps the nodes it reads and those measuring it alone; its jobs are the whole plan\'s', () => {
    const whole = expandPlan(plan());
    const part = selectFromPlan(plan(), flags({ arms: 'fusion' }), 'deepfusion run');
    // `both` also reads scratch, which is not kept; `check` measures the fusion arm.
    assert.deepEqual(part.nodes.map((n) => n.name), ['a', 'b', 'ab', 'more', 'check']);
    assert.deepEqual(part.arms.map((a) => a.name), ['fusion']);
    assert.equal(part.baseline, undefined, 'the baseline arm was not selected');
    const keys = new Set(whole.jobs.map((j) => j.key));
    const jobs = expandPlan(part).jobs;
    assert.equal(jobs.length, 5);
    for (const j of jobs) assert.ok(keys.has(j.key), `${j.id} is a job of the whole plan`);
  });

  test('--repeats adds repeats with shifted seeds; repeat 0 is the plan\'s own job', () => {
    const whole = expandPlan(plan());
    const part = selectFromPlan(plan(), flags({ arms: 'from scratch,fusion', repeats: '3' }), 'deepfusion run');
    assert.equal(part.baseline, 'from scratch');
    assert.equal(part.nodes.length, 7, 'every node: both arms, check and both');
    const scratch = expandPlan(part).jobs.filter((j) => j.node === 'scratch');
    assert.deepEqual(scratch.map((j) => (j.settings as { seed: number }).seed), [4, 1004, 2004]);
    assert.equal(scratch[0].key, whole.jobs.find((j) => j.node === 'scratch')?.key);
  });

  test('the demo\'s from-scratch arm over three seeds: seeds 6, 1006 and 2006', () => {
    const part = selectFromPlan(loadPlan('demo'), flags({ arms: 'from scratch', repeats: '3' }), 'deepfusion run');
    const jobs = expandPlan(part).jobs;
    assert.deepEqual(jobs.map((j) => [j.id, (j.settings as { seed: number }).seed]), [['scratch@0', 6], ['scratch@1', 1006], ['scratch@2', 2006]]);
  });

  test('an unknown arm or a bad repeat count is refused, naming the flag and the choices', () => {
    assert.throws(() => selectFromPlan(plan(), flags({ arms: 'fusion,grown' }), 'deepfusion run'),
      (e: unknown) => e instanceof UserError && /--arms: plan p has no arm "grown". Fix: name one of "from scratch", "fusion"/.test(e.message));
    assert.throws(() => flags({ repeats: '0' }), (e: unknown) => e instanceof UserError && /--repeats must be an integer in \[1, 1000\]/.test(e.message));
    const r = runCli(['run', 'demo', '--arms', 'scratch']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: deepfusion run: --arms: plan demo has no arm "scratch"/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('without a selection the plan is unchanged', () => {
    const whole = plan();
    const same = selectFromPlan(whole, flags({}), 'deepfusion run');
    assert.deepEqual(expandPlan(same).jobs.map((j) => j.key), expandPlan(whole).jobs.map((j) => j.key));
    assert.equal(same.baseline, 'from scratch');
  });
});
