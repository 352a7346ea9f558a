import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LocalProcessExecutor } from '../../src/plans/executor';
import { parsePlan, type Plan } from '../../src/plans/plan';
import { parsePlanText } from '../../src/plans/plan_source';
import { jobDir, runPlan } from '../../src/plans/runner';
import { expandPlan } from '../../src/plans/graph';
import { lastCheckpoint, nodeKinds } from './fake_kinds';
import { temporaryDir } from '../helpers/tmp';

const KINDS = path.join(__dirname, 'fake_kinds.js');
const tmp = (): string => temporaryDir('df-plan-');
const PLAN = `
name: chain
repeats: 2
nodes:
  a: {count: {steps: 6, seed: 1}}
  b: {count: {steps: 6, seed: 2}}
  ab: {count: {steps: 3, seed: 5, from: [a, b]}}
  c: {count: {steps: 4, seed: 7, from: ab}}
arms:
  grown: c
  alone: a
`;
const plan = (text = PLAN): Plan => parsePlan(parsePlanText(text, 'plan.yaml'), nodeKinds);
const executor = (): LocalProcessExecutor => new LocalProcessExecutor({ capacity: 2, kindsModule: KINDS });
const values = (results: Map<string, { facts: Record<string, unknown> }>) =>
  Object.fromEntries([...results].map(([id, r]) => [id, r.facts.value]));

describe('plan runner', () => {
  test('runs the graph in dependency order, once per repeat with shifted seeds', async () => {
    const out = tmp();
    const order: string[] = [];
    const run = await runPlan(plan(), { outDir: out, executor: executor(), cores: 2, events: { finished: (j) => order.push(j.id) } });
    const v = values(run.results);
    // repeat 0: a = 6, b = 12, ab = 15 + 18 = 33, c = 28 + 33 = 61; repeat 1 shifts seeds by 1000.
    assert.deepEqual([v['a@0'], v['b@0'], v['ab@0'], v['c@0']], [6, 12, 33, 61]);
    assert.equal(v['a@1'], 1001 * 6);
    assert.ok(order.indexOf('ab@0') > order.indexOf('a@0') && order.indexOf('ab@0') > order.indexOf('b@0'));
    assert.ok(order.indexOf('c@1') > order.indexOf('ab@1'));
    assert.deepEqual(run.expansion.arms.map((a) => [a.name, a.finals]), [['grown', ['c@0', 'c@1']], ['alone', ['a@0', 'a@1']]]);
  });

  test('a rerun runs nothing; an edited node reruns only itself and what reads it', async () => {
    const out = tmp();
    await runPlan(plan(), { outDir: out, executor: executor(), cores: 2 });
    const started: string[] = [];
    await runPlan(plan(), { outDir: out, executor: executor(), cores: 2, events: { started: (j) => started.push(j.id) } });
    assert.equal(started.length, 0, `nothing reruns: ${started.join(", ")}`);
    await runPlan(plan(PLAN.replace('ab: {count: {steps: 3', 'ab: {count: {steps: 4')), {
      outDir: out, executor: executor(), cores: 2, events: { started: (j) => started.push(j.id) },
    });
    assert.deepEqual(started.sort(), ['ab@0', 'ab@1', 'c@0', 'c@1']);
  });

  test('killed mid-plan and rerun, it finishes without redoing finished jobs and gives the same results', async () => {
    const planFile = path.join(tmp(), 'plan.yaml');
    fs.writeFileSync(planFile, PLAN.replace(/steps: 6/g, 'steps: 40'));
    const reference = await runPlan(plan(fs.readFileSync(planFile, 'utf8')), { outDir: tmp(), executor: executor(), cores: 2 });

    const out = tmp();
    const child = spawn(process.execPath, [path.join(__dirname, 'run_plan_child.js'), planFile, out], { stdio: ['ignore', 'pipe', 'inherit'] });
    let finished = false;
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('finished a@0')) finished = true; });
    // Killed once a job is finished and another is mid-way (its checkpoint between 5 and 35).
    const checkpoints = expandPlan(plan(fs.readFileSync(planFile, 'utf8'))).jobs.map((j) => path.join(jobDir(out, j), 'checkpoints'));
    const midway = (): boolean => checkpoints.some((dir) => {
      const step = lastCheckpoint(dir);
      return step >= 5 && step <= 35;
    });
    const exited = new Promise((r) => child.once('exit', r));
    let done = false;
    void exited.then(() => { done = true; });
    while (!(finished && midway()) && !done) await new Promise((r) => setTimeout(r, 2));
    assert.ok(!done, 'the plan is killed before it ends');
    child.kill('SIGKILL');
    await exited;
    // Workers kill themselves within 200 ms of their parent's death; give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    const p = plan(fs.readFileSync(planFile, 'utf8'));
    const started: string[] = [];
    const resumed = await runPlan(p, { outDir: out, executor: executor(), cores: 2, events: { started: (j) => started.push(j.id) } });
    assert.ok(!started.includes('a@0'), 'the finished job is not redone');
    assert.deepEqual(values(resumed.results), values(reference.results));
    // An interrupted job resumed from its own checkpoint rather than from scratch.
    const jobs = expandPlan(p).jobs;
    const restarts = jobs.map((j) => fs.readFileSync(path.join(jobDir(out, j), 'starts'), 'utf8').trim().split('\n').map(Number));
    assert.ok(restarts.some((s) => s.length === 2 && s[1] > 0), `some job resumed mid-way: ${JSON.stringify(restarts)}`);
  });

  test('workers die with their parent even while they compute, and a rerun right after finishes the plan', async () => {
    // Steps of 500 ms that never return to the event loop, as a training step does.
    const text = 'name: busy\nnodes:\n  a: {count: {steps: 16, ms: 500, busy: true, seed: 3}}\n  b: {count: {steps: 16, ms: 500, busy: true, seed: 4}}\n';
    const planFile = path.join(tmp(), 'plan.yaml');
    fs.writeFileSync(planFile, text);
    const out = tmp();
    const child = spawn(process.execPath, [path.join(__dirname, 'run_plan_child.js'), planFile, out], { stdio: ['ignore', 'pipe', 'inherit'] });
    const p = plan(text);
    const pidFiles = expandPlan(p).jobs.map((j) => path.join(jobDir(out, j), 'pid'));
    while (!pidFiles.every((f) => fs.existsSync(f) && fs.readFileSync(f, 'utf8') !== '')) await new Promise((r) => setTimeout(r, 50));
    const pids = pidFiles.map((f) => Number(fs.readFileSync(f, 'utf8')));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    // Left alone the workers would run about 8 s more; their watcher thread kills them in a fraction of that.
    while (pids.some(alive) && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'no worker outlives the runner');
    const resumed = await runPlan(p, { outDir: out, executor: executor(), cores: 2 });
    assert.deepEqual(values(resumed.results), { a: 48, b: 64 });
  });

  test('jobs sharing a key (a swept value equal to the node\'s own) run once and share the result', async () => {
    const text = 'name: twins\nnodes:\n  a: {count: {steps: 3, seed: 2}}\narms:\n  plain: a\n  swept: {final: a, sweep: {node: a, field: seed, values: [2, 5]}}\n';
    const started: string[] = [];
    const cached: string[] = [];
    const run = await runPlan(plan(text), {
      outDir: tmp(), executor: executor(), cores: 2, events: { started: (j) => started.push(j.id), cached: (j) => cached.push(j.id) },
    });
    assert.deepEqual(started.sort(), ['a', 'a[seed=5]']);
    assert.deepEqual(cached, ['a[seed=2]']);
    assert.equal(run.results.get('a[seed=2]'), run.results.get('a'));
  });

  test('a failing job stops the plan with its name and log', async () => {
    const p = plan('name: f\nnodes:\n  x: {fail: {}}\n  y: {count: {steps: 2, from: x}}\n');
    await assert.rejects(runPlan(p, { outDir: tmp(), executor: executor(), cores: 2 }), /job x failed: deliberate failure \(log: .*log\.txt\)/);
  });
});
