import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LocalProcessExecutor } from '../../src/plans/executor';
import { expandPlan } from '../../src/plans/graph';
import { parsePlan } from '../../src/plans/plan';
import { parsePlanText } from '../../src/plans/plan_source';
import { runPlan } from '../../src/plans/runner';
import { PlanStatusWriter, readPlanStatus, STATUS_FILE } from '../../src/plans/status';
import { nodeKinds } from './fake_kinds';
import { temporaryDir } from '../helpers/tmp';

const KINDS = path.join(__dirname, 'fake_kinds.js');
const tmp = (): string => temporaryDir('df-status-');
const plan = (text: string) => parsePlan(parsePlanText(text, 'plan.yaml'), nodeKinds);
const executor = () => new LocalProcessExecutor({ capacity: 2, kindsModule: KINDS });

const PLAN = `
name: chain
description: a small chain
repeats: 2
nodes:
  a: {count: {steps: 6, seed: 1}}
  b: {count: {steps: 3, seed: 5, from: a}}
arms: {grown: b}
`;

describe('status.json', () => {
  test('a finished plan: every job done with its steps, the arms, the runner', async () => {
    const out = tmp();
    await runPlan(plan(PLAN), { outDir: out, executor: executor(), cores: 2, kinds: nodeKinds });
    const s = readPlanStatus(out);
    assert.ok(s);
    assert.equal(s.state, 'finished');
    assert.equal(s.pid, process.pid);
    assert.equal(s.host, os.hostname());
    assert.deepEqual(s.plan, { name: 'chain', description: 'a small chain', file: 'plan.yaml', repeats: 2 });
    assert.deepEqual(s.jobs.map((j) => [j.id, j.state, j.step, j.label, j.machine]), [
      ['a@0', 'done', 6, 'count 6', os.hostname()], ['b@0', 'done', 3, 'count 3', os.hostname()],
      ['a@1', 'done', 6, 'count 6', os.hostname()], ['b@1', 'done', 3, 'count 3', os.hostname()],
    ]);
    assert.deepEqual(s.jobs.map((j) => j.key), expandPlan(plan(PLAN)).jobs.map((j) => j.key));
    assert.deepEqual(s.arms.map((a) => [a.name, a.finals]), [['grown', ['b@0', 'b@1']]]);
    // A rerun finds everything cached.
    await runPlan(plan(PLAN), { outDir: out, executor: executor(), cores: 2 });
    assert.deepEqual(readPlanStatus(out)?.jobs.map((j) => j.state), ['cached', 'cached', 'cached', 'cached']);
  });

  test('while a plan runs it shows the running job\'s progress; a failed job has its error', async () => {
    const out = tmp();
    const running = runPlan(plan(`
name: slow
nodes:
  slow: {count: {steps: 150, seed: 1, ms: 20}}
  broken: {fail: {}}
`), { outDir: out, executor: executor(), cores: 2 });
    const outcome = running.then(() => 'finished', (err: Error) => err.message);
    let seen: ReturnType<typeof readPlanStatus>;
    for (let i = 0; i < 400; i++) {
      seen = readPlanStatus(out);
      const slow = seen?.jobs.find((j) => j.id === 'slow');
      if (slow?.state === 'running' && (slow.step ?? 0) > 0 && seen?.jobs.find((j) => j.id === 'broken')?.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const slow = seen?.jobs.find((j) => j.id === 'slow');
    assert.equal(seen?.state, 'running');
    assert.equal(slow?.state, 'running');
    assert.equal(slow?.total, 150);
    assert.ok((slow?.step ?? 0) > 0 && (slow?.step ?? 0) <= 150);
    assert.ok(slow?.started_at);
    const broken = seen?.jobs.find((j) => j.id === 'broken');
    assert.equal(broken?.state, 'failed');
    assert.match(broken?.error ?? '', /job broken failed: deliberate failure/);
    assert.match(await outcome, /deliberate failure/);
    const end = readPlanStatus(out);
    assert.equal(end?.state, 'failed');
    assert.equal(end?.jobs.find((j) => j.id === 'slow')?.state, 'done', 'a running job finishes after another failed');
  });

  test('progress is written at most once per interval, state changes at once, the last progress on close', async () => {
    const out = tmp();
    const p = plan('name: one\nnodes:\n  a: {count: {steps: 100}}\n');
    const job = expandPlan(p).jobs[0];
    const writer = new PlanStatusWriter(out, p, expandPlan(p), { minInterval: 60_000 });
    const file = path.join(out, STATUS_FILE);
    writer.started(job, 2);
    assert.equal(readPlanStatus(out)?.jobs[0].state, 'running');
    const before = fs.readFileSync(file, 'utf8');
    for (let step = 1; step <= 50; step++) writer.progress(job, { type: 'progress', step, total: 100, loss: 1 / step });
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'progress waits for the interval');
    writer.progress(job, { type: 'placed', machine: 'worker-7' });
    const placed = readPlanStatus(out)?.jobs[0];
    assert.equal(placed?.machine, 'worker-7', 'where a job runs is a state change');
    assert.equal(placed?.step, 50);
    writer.progress(job, { type: 'progress', step: 60, total: 100 });
    writer.close('finished');
    const closed = readPlanStatus(out);
    assert.equal(closed?.state, 'finished');
    assert.equal(closed?.jobs[0].step, 60);
    writer.progress(job, { type: 'progress', step: 70, total: 100 });
    assert.equal(readPlanStatus(out)?.jobs[0].step, 60, 'nothing changes after close');
    assert.deepEqual(fs.readdirSync(out), [STATUS_FILE], 'no temporary files are left');
  });
});
