// Runs a plan file with the fake kinds in a child process, so a test can kill it mid-plan.
import * as path from 'node:path';
import { LocalProcessExecutor } from '../../src/plans/executor';
import { parsePlan } from '../../src/plans/plan';
import { readPlanSource } from '../../src/plans/plan_source';
import { runPlan } from '../../src/plans/runner';
import { nodeKinds } from './fake_kinds';

const [planFile, outDir] = process.argv.slice(2);
const plan = parsePlan(readPlanSource(planFile), nodeKinds);
const executor = new LocalProcessExecutor({ capacity: 2, kindsModule: path.join(__dirname, 'fake_kinds.js') });
void runPlan(plan, {
  outDir, executor, cores: 2,
  events: { finished: (job) => console.log(`finished ${job.id}`) },
}).then((run) => {
  console.log(JSON.stringify(Object.fromEntries([...run.results].map(([id, r]) => [id, r.facts.value]))));
});
