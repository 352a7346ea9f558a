import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { summarizeArms } from '../../src/plans/arm_results';
import { compareScores, downstreamSection } from '../../src/plans/downstream_report';
import { expandPlan } from '../../src/plans/graph';
import type { JobInstance } from '../../src/plans/graph';
import type { JobResult } from '../../src/plans/job';
import { nodeKinds } from '../../src/plans/kinds';
import type { FinetuneNode } from '../../src/plans/kinds/finetune';
import { parsePlan } from '../../src/plans/plan';
import { parsePlanText, PlanError } from '../../src/plans/plan_source';
import { loadPlan } from '../../src/plans/run_plan_file';
import type { TrainNodeSettings } from '../../src/plans/kinds/train';
import type { SuiteResult, TaskResult } from '../../src/training/finetune';

const parse = (text: string) => parsePlan(parsePlanText(text, 'p.yaml'), nodeKinds);

const PLAN = (finetune: string) => `name: p
repeats: 2
defaults: {lr: 0.01, warmup: 100, schedule: inverse-sqrt}
nodes:
  a: {train: {preset: tiny, steps: 5, seed: 1}}
  ft: {finetune: ${finetune}}
arms: {small: a}
`;

describe('finetune plan nodes', () => {
  test('a finetune node takes fine-tuning settings with T5\'s defaults (not the plan\'s pre-training defaults) and reseeds per repeat', () => {
    const plan = parse(PLAN('{model: a, suite: quick, steps: 50, seed: 3}'));
    const node = plan.nodes.find((n) => n.name === 'ft');
    assert.deepEqual([node?.kind, node?.inputs], ['finetune', ['a']]);
    const s = node?.settings as FinetuneNode;
    assert.deepEqual([s.tasks.suite, s.train.steps, s.train.seed], ['quick', 50, 3]);
    assert.deepEqual(s.train.schedule, { kind: 'constant', lr: 1e-3, warmup: 0 }, 'the plan\'s defaults are pre-training settings');
    const jobs = expandPlan(plan).jobs.filter((j) => j.kind === 'finetune');
    assert.deepEqual(jobs.map((j) => [j.id, j.inputs, (j.settings as FinetuneNode).train.seed]), [['ft@0', ['a@0'], 3], ['ft@1', ['a@1'], 1003]]);
  });

  test('the run\'s --precision reaches finetune nodes, a node\'s own precision wins, and the job key follows it', () => {
    const text = PLAN('{model: a, suite: quick}').replace('ft: {finetune', 'own: {finetune: {model: a, suite: quick, precision: bf16}}\n  ft: {finetune');
    const precisions = (plan: ReturnType<typeof parse>) => Object.fromEntries(plan.nodes.map((n) => [n.name,
      n.kind === 'finetune' ? (n.settings as FinetuneNode).train.precision : (n.settings as TrainNodeSettings).precision]));
    const fp32 = parsePlan(parsePlanText(text, 'p.yaml'), nodeKinds, { precision: 'fp32' });
    assert.deepEqual(precisions(fp32), { a: 'fp32', own: precisions(parse(text)).own, ft: 'fp32' });
    // Without the override the machine's precision: bf16 with AVX512-BF16 on the native backend, else fp32.
    const machine = precisions(parse(text)).ft;
    const key = (plan: ReturnType<typeof parse>) => expandPlan(plan).jobs.find((j) => j.id === 'ft@0')?.key;
    assert.equal(key(fp32) === key(parse(text)), machine === 'fp32');
  });

  test('mistakes point at the field\'s file:line:col', () => {
    const refused = (finetune: string, where: RegExp, message: RegExp) => assert.throws(() => parse(PLAN(finetune)), (e: unknown) => {
      assert.ok(e instanceof PlanError, String(e));
      assert.match(e.where, where);
      assert.match(e.message, message);
      return true;
    });
    refused('{model: a, suite: huge}', /^p\.yaml:6:\d+$/, /nodes\.ft\.finetune\.suite: there is no suite "huge"\. Fix: use default or quick/);
    refused('{model: a, stepz: 3}', /^p\.yaml:6:\d+$/, /nodes\.ft\.finetune\.stepz: is not a fine-tuning setting/);
    refused('{model: a, task: [imdb, cola]}', /^p\.yaml:6:\d+$/, /nodes\.ft\.finetune\.task: there is no bundled task "cola" \(cola is a GLUE task/);
    refused('{suite: quick}', /^p\.yaml:6:\d+$/, /nodes\.ft\.finetune\.model: expected the node whose model is fine-tuned/);
    refused('{model: b}', /^p\.yaml:6:\d+$/, /reads node "b", which the plan does not define/);
  });

  test('table1 fine-tunes every arm\'s final model on one suite, with the same seed for every arm, and fresh weights of the baseline\'s shape', () => {
    const plan = loadPlan('table1');
    const ft = plan.nodes.filter((n) => n.kind === 'finetune');
    const settings = (n: (typeof ft)[number]): FinetuneNode => n.settings as FinetuneNode;
    const pretrained = ft.filter((n) => settings(n).init === 'pretrained');
    assert.deepEqual(pretrained.map((n) => n.inputs[0]).sort(), plan.arms.map((a) => a.final).sort());
    const fresh = ft.filter((n) => settings(n).init === 'random');
    assert.deepEqual(fresh.map((n) => n.inputs[0]), ['scratch'], 'the sanity check reads the baseline arm\'s model, for its shape');
    assert.equal(new Set(ft.map((n) => settings(n).tasks.suite)).size, 1);
    assert.ok(ft.every((n) => settings(n).train.seed === 11));
  });
});

describe('downstream results of arms', () => {
  const task = (name: string, score: number, contamination: string | null = null): TaskResult => ({
    task: name, description: '', kind: 'classification', metrics: ['accuracy'], source: '', contamination,
    examples: { train: 1, validation: 1, tests: [1] }, input_length: 8, tests: [], score,
    majority: { score: 0.5, tests: [] }, best: { step: 0, validation_score: 0 }, run: '',
  });
  const suite = (scores: [number, number, number]): SuiteResult => ({
    model: '', init: 'pretrained', suite: 'default', mixture: false, decode: 'rank', steps: 10,
    tasks: [task('imdb', scores[0]), task('spam', scores[1]), task('wic', scores[2], 'in the corpus')],
    average: (scores[0] + scores[1]) / 2, majority_average: 0.5, contaminated: ['wic'], flops: 0, train_seconds: 0,
  });
  const job = (id: string, kind: string, inputs: string[] = []): JobInstance => ({ id, node: id.split('@')[0], kind, settings: {}, inputs, repeat: Number(id.split('@')[1]), key: id });
  const result = (downstream?: SuiteResult): JobResult => ({
    kind: downstream ? 'finetune' : 'train', flops: 1, seconds: 1, steps: 1, peak_rss_mb: 1, facts: {}, downstream,
    evals: [{ step: 1, tokens: 1, flops: 1, seconds: 1, val_loss: 3, val_accuracy: 0.3 }],
  });

  /**
   * Arms base and grown over 2 repeats; ft_base@r and ft_grown@r fine-tune their final models, and
   * every finetune job named in `finetunes` (by id, e.g. ft_fresh@0) reads the arm of its repeat's
   * model given in `reads` (base by default).
   */
  const twoArms = (finetunes: Record<string, SuiteResult>, reads: Record<string, string> = {}) => {
    const finals = ['base@0', 'base@1', 'grown@0', 'grown@1'];
    const ftJobs = Object.keys(finetunes).map((id) => {
      const [node, r] = id.split('@');
      return job(id, 'finetune', [`${reads[node] ?? node.replace(/^ft_/, '')}@${r}`]);
    });
    const results = new Map<string, JobResult>([
      ...finals.map((id) => [id, result()] as const), ...Object.entries(finetunes).map(([id, s]) => [id, result(s)] as const),
    ]);
    return summarizeArms([
      { name: 'base', arm: 'base', finals: ['base@0', 'base@1'], members: [['base@0'], ['base@1']] },
      { name: 'grown', arm: 'grown', finals: ['grown@0', 'grown@1'], members: [['grown@0'], ['grown@1']] },
    ], [...finals.map((id) => job(id, 'train')), ...ftJobs], results, 'base');
  };

  test('each arm gets its finetune node\'s scores, mean ± std over repeats; the verdict and Figure 3 compare them with the baseline', () => {
    const arms = twoArms({
      'ft_base@0': suite([0.7, 0.8, 0.5]), 'ft_base@1': suite([0.72, 0.82, 0.6]),
      'ft_grown@0': suite([0.8, 0.9, 0.5]), 'ft_grown@1': suite([0.82, 0.92, 0.5]),
    });
    const [base, grown] = arms.map((a) => a.downstream[0]);
    assert.equal(base.node, 'ft_base');
    assert.ok(Math.abs(base.average.mean - 0.76) < 1e-12 && base.average.n === 2);
    assert.ok(Math.abs(grown.tasks[0].score.mean - 0.81) < 1e-12);
    assert.deepEqual(grown.tasks.map((t) => t.contaminated), [false, false, true]);
    const { lines, figure } = downstreamSection(arms, 'base');
    const text = lines.join('\n');
    assert.match(text, /## Downstream tasks \(Figure 3\) \(mean ± std over 2 repeats\)/);
    assert.match(text, /- \*\*grown\*\* beat it: 86\.0 ± 1\.4/);
    assert.match(text, /\| base \| 76\.0 ± 1\.4 \| 71\.0 ± 1\.4 \| 81\.0 ± 1\.4 \| 55\.0 ± 7\.1 \|/);
    assert.match(text, /\| majority class \| 50\.0 \|/);
    assert.match(text, /without wic/);
    assert.ok(figure && (figure.match(/<rect x=/g) ?? []).length === 8, 'two bars in each of four groups');
    assert.match(figure ?? '', /stroke-dasharray="5 3"/, 'the majority baseline is marked');
  });

  test('a finetune node with init: random is the suite\'s sanity check: its own row, not the baseline, and a verdict of its own', () => {
    const fresh = (scores: [number, number, number]): SuiteResult => ({ ...suite(scores), init: 'random' });
    const arms = twoArms({
      'ft_base@0': suite([0.7, 0.8, 0.5]), 'ft_base@1': suite([0.72, 0.82, 0.6]),
      'ft_grown@0': suite([0.7, 0.8, 0.5]), 'ft_grown@1': suite([0.72, 0.82, 0.5]),
      'ft_fresh@0': fresh([0.6, 0.7, 0.5]), 'ft_fresh@1': fresh([0.62, 0.72, 0.5]),
    }, { ft_fresh: 'base' });
    const text = downstreamSection(arms, 'base').lines.join('\n');
    assert.match(text, /baseline \*\*base\*\* averages 76\.0 ± 1\.4/, 'the baseline is the pre-trained row, not the fresh one');
    assert.match(text, /- \*\*grown\*\* matched it/);
    assert.doesNotMatch(text, /random init\*\* /, 'the fresh row is not compared as an arm');
    assert.match(text, /- Sanity check: \*\*base\*\* with random weights of the same shape averages 66\.0 ± 1\.4; pre-trained, it beat them/);
    assert.match(text, /\| base, random init \| 66\.0 ± 1\.4 \|/);
    assert.match(text, /\| base · ft_base \| 76\.0 ± 1\.4 \|/);
  });

  test('scores within the repeats\' spread match; beyond it they beat or fall short', () => {
    assert.equal(compareScores({ mean: 0.8, std: 0.01, n: 3 }, { mean: 0.79, std: 0.01, n: 3 }), 'matched');
    assert.equal(compareScores({ mean: 0.85, std: 0.01, n: 3 }, { mean: 0.79, std: 0.01, n: 3 }), 'beat');
    assert.equal(compareScores({ mean: 0.7, std: 0.01, n: 3 }, { mean: 0.79, std: 0.01, n: 3 }), 'fell short');
  });
});
