import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeArms } from '../../src/plans/arm_results';
import { expandPlan } from '../../src/plans/graph';
import type { JobResult } from '../../src/plans/job';
import { nodeKinds } from '../../src/plans/kinds';
import { parsePlan } from '../../src/plans/plan';
import { parsePlanText } from '../../src/plans/plan_source';
import { analysesSection, sweepFigures, sweepSection } from '../../src/plans/report_sections';
import type { PlanRun } from '../../src/plans/runner';

const PLAN = `
name: offsets
defaults: {batch_size: 4, schedule: inverse-sqrt, lr: 0.01, warmup: 100}
repeats: 2
nodes:
  small: {train: {preset: tiny, steps: 10, seed: 1}}
  grown: {train: {from: small, steps: 10, lr_offset: 0, seed: 2}}
  look: {analyze: {what: replicas, runs: [grown]}}
  tune: {finetune: {model: grown, suite: default}}
arms:
  offset: {final: grown, sweep: {node: grown, field: lr_offset, values: [0, 400]}}
`;

/**
 * A plan run with made-up results: grown at offset 0 ends at 4.0 / 4.2, at offset 400 at 4.5 / 4.5;
 * its fine-tuning suite averages 0.70 at offset 0 and 0.60 / 0.61 at 400.
 */
function fakeRun(): PlanRun {
  const plan = parsePlan(parsePlanText(PLAN, 'offsets.yaml'), nodeKinds);
  const expansion = expandPlan(plan);
  const byId = new Map(expansion.jobs.map((j) => [j.id, j]));
  const results = new Map<string, JobResult>();
  for (const j of expansion.jobs) {
    const trained = j.kind === 'finetune' ? byId.get(j.inputs[0])! : j;
    const offset = (trained.settings as { lr_offset?: number }).lr_offset ?? 0;
    const suite = { suite: 'default', init: 'pretrained', average: offset === 0 ? 0.7 : 0.6 + 0.01 * j.repeat, majority_average: 0.5, tasks: [] };
    const loss = j.node === 'grown' ? (offset === 0 ? 4.0 + 0.2 * j.repeat : 4.5) : 5;
    results.set(j.id, {
      kind: j.kind, flops: 1, seconds: 1, steps: 10, peak_rss_mb: 1, facts: {},
      evals: j.kind === 'train' ? [{ step: 10, tokens: 0, flops: 1, seconds: 1, val_loss: loss, val_accuracy: 0.3 }] : [],
      ...(j.kind === 'finetune' ? { downstream: suite as unknown as JobResult['downstream'] } : {}),
      ...(j.kind === 'analyze' ? { summary: ['distance 0.1 → 0.2'], figures: [{ file: 'replica_distance.svg', title: 'distance' }] } : {}),
    });
  }
  return { plan, expansion, outDir: '/out', results, dirs: new Map() };
}

test('the sweep section names the best value and how far each other value is from it', () => {
  const run = fakeRun();
  const arms = summarizeArms(run.expansion.arms, run.expansion.jobs, run.results);
  const lines = sweepSection(arms, run);
  assert.ok(lines.includes('### offset: lr_offset'));
  assert.match(lines.join('\n'), /Best: \*\*lr_offset = 0\*\*, final validation loss 4\.100 ± 0\.141 over 2 repeats/);
  // 4.5 − 4.1 = 0.4, with standard error sqrt(0.1414²/2 + 0) = 0.1.
  assert.ok(lines.some((l) => /^\| 400 \| 0\.00499 \| 4\.500 ± 0\.000 \| 0\.300 ± 0\.000 \| 0\.605 ± 0\.007 \| \+0\.400 ± 0\.100 \(4\.0 s\.e\.\) \|$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^\| 0 \| 0\.0100 \| 4\.100 ± 0\.141 \| .* \| \*\*best\*\* \|$/.test(l)));
});

test('sweep figures: loss against the value, against the first step\'s learning rate, and each arm score', () => {
  const run = fakeRun();
  const figures = sweepFigures(summarizeArms(run.expansion.arms, run.expansion.jobs, run.results), run);
  assert.deepEqual(figures.map((f) => f.file), ['figure4_sweep.svg', 'figure4_sweep_lr.svg', 'figure4_sweep_score_1.svg']);
  assert.match(figures[2].svg, /tune suite average against lr_offset/);
  for (const f of figures) assert.match(f.svg, /^<svg /);
});

test('analysis jobs appear with their numbers and their figures, linked inside their job directories', () => {
  const run = fakeRun();
  const lines = analysesSection(run, (id) => `label of ${id}`);
  const look = run.expansion.jobs.find((j) => j.id === 'look@0')!;
  assert.ok(lines.includes('### look@0: label of look@0'));
  assert.ok(lines.includes('distance 0.1 → 0.2'));
  assert.ok(lines.includes(`![distance](jobs/${look.key}/replica_distance.svg)`));
});
