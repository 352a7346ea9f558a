// What a finished plan says about its arms: each repeat's validation curve against cumulative
// training FLOPs and against wall time, final loss and accuracy (mean ± std over repeats),
// total cost, the compute an arm needed to reach the baseline's final loss, and the scores of
// the arm's final model fine-tuned on labelled tasks (finetune nodes that read it).
import type { ArmInstance, JobInstance } from './graph';
import type { EvalPoint, JobResult } from './job';

export interface CurvePoint { flops: number; seconds: number; loss: number; accuracy: number; job: string; step: number }

export interface MeanStd { mean: number; std: number; n: number }

export interface ArmSummary {
  name: string;
  arm: string;
  sweepValue?: number;
  /** One curve per repeat, along the arm's spine (final job, its first input, …), in time order. */
  curves: CurvePoint[][];
  finalLoss: MeanStd;
  finalAccuracy: MeanStd;
  /** Training FLOPs of all the arm's jobs, per repeat. */
  flops: MeanStd;
  /** Sum of the jobs' wall times (machine time), per repeat. */
  machineSeconds: MeanStd;
  /** Wall time with every independent job run in parallel (the critical path), per repeat. */
  criticalSeconds: MeanStd;
  nodeSteps: MeanStd;
  peakRssMb: number;
  /** FLOPs to first reach the baseline's mean final loss, per repeat that reached it. */
  flopsToBaseline?: { reached: number[]; repeats: number };
  /** Fine-tuning results of the arm's final model: one entry per finetune node that reads it. */
  downstream: DownstreamSummary[];
  /** Quality scores besides validation loss, by name: each finetune node's suite average (a sweep plots them against the swept value). */
  scores: Record<string, MeanStd>;
}

/** A finetune node's scores for one arm: each task's test score and the suite average, over repeats. */
export interface DownstreamSummary {
  /** The finetune node. */
  node: string;
  suite: string;
  init: string;
  /** The average over the tasks that are not contaminated. */
  average: MeanStd;
  majorityAverage: number;
  tasks: Array<{ task: string; metrics: string[]; score: MeanStd; majority: number; contaminated: boolean }>;
}

export function meanStd(xs: number[]): MeanStd {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // Sample standard deviation (n − 1), as repeats are samples of the arm's outcome.
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/**
 * The first x at which the curve's loss is ≤ target, interpolating linearly between points of the
 * same job. Across a job boundary (a small model's last evaluation, then the fused model's first)
 * the compute in between went to other jobs, so the loss did not move along that line: the
 * crossing is the later point.
 */
export function firstReach(curve: Array<{ x: number; loss: number; job?: string }>, target: number): number | undefined {
  for (let i = 0; i < curve.length; i++) {
    if (curve[i].loss <= target) {
      if (i === 0 || curve[i - 1].job !== curve[i].job) return curve[i].x;
      const a = curve[i - 1];
      const b = curve[i];
      return a.x + ((a.loss - target) / (a.loss - b.loss)) * (b.x - a.x);
    }
  }
  return undefined;
}

export function summarizeArms(arms: ArmInstance[], jobs: JobInstance[], results: Map<string, JobResult>,
  baseline?: string): ArmSummary[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const result = (id: string) => results.get(id) as JobResult;
  const finish = new Map<string, number>();
  const finishTime = (id: string): number => {
    if (!finish.has(id)) finish.set(id, result(id).seconds + Math.max(0, ...(byId.get(id) as JobInstance).inputs.map(finishTime)));
    return finish.get(id) as number;
  };

  const summaries = arms.map((arm): ArmSummary => {
    const curves = arm.finals.map((final, r) => {
      const members = new Set(arm.members[r]);
      const spine: string[] = [];
      for (let j: string | undefined = final; j !== undefined; j = (byId.get(j) as JobInstance).inputs[0]) spine.unshift(j);
      const ancestorFlops = (id: string): number => {
        const seen = new Set<string>();
        const visit = (j: string) => {
          for (const i of (byId.get(j) as JobInstance).inputs) if (!seen.has(i) && members.has(i)) { seen.add(i); visit(i); }
        };
        visit(id);
        return [...seen].reduce((s, j) => s + result(j).flops, 0);
      };
      return spine.flatMap((id) => {
        const offsetFlops = ancestorFlops(id);
        const offsetSeconds = Math.max(0, ...(byId.get(id) as JobInstance).inputs.map(finishTime));
        return result(id).evals.map((e: EvalPoint) => ({
          flops: offsetFlops + e.flops, seconds: offsetSeconds + e.seconds, loss: e.val_loss, accuracy: e.val_accuracy, job: id, step: e.step,
        }));
      });
    });
    const finals = arm.finals.map((f) => result(f).evals.at(-1));
    const sum = (r: number, f: (x: JobResult) => number) => arm.members[r].reduce((s, j) => s + f(result(j)), 0);
    const downstream = downstreamOf(arm, jobs, results);
    return {
      name: arm.name,
      arm: arm.arm,
      sweepValue: arm.sweepValue,
      curves,
      finalLoss: meanStd(finals.filter((e) => e !== undefined).map((e) => (e as EvalPoint).val_loss)),
      finalAccuracy: meanStd(finals.filter((e) => e !== undefined).map((e) => (e as EvalPoint).val_accuracy)),
      flops: meanStd(arm.finals.map((_, r) => sum(r, (x) => x.flops))),
      machineSeconds: meanStd(arm.finals.map((_, r) => sum(r, (x) => x.seconds))),
      criticalSeconds: meanStd(arm.finals.map((f) => finishTime(f))),
      nodeSteps: meanStd(arm.finals.map((_, r) => sum(r, (x) => x.steps))),
      peakRssMb: Math.max(0, ...arm.members.flat().map((j) => result(j).peak_rss_mb)),
      downstream,
      scores: Object.fromEntries(downstream.map((d) => [`${d.node} suite average`, d.average])),
    };
  });

  const base = summaries.find((s) => s.name === baseline);
  if (base && Number.isFinite(base.finalLoss.mean)) {
    for (const s of summaries) {
      const reached = s.curves
        .map((c) => firstReach(c.map((p) => ({ x: p.flops, loss: p.loss, job: p.job })), base.finalLoss.mean))
        .filter((x): x is number => x !== undefined);
      s.flopsToBaseline = { reached, repeats: s.curves.length };
    }
  }
  return summaries;
}

/** The finetune jobs that read the arm's final job of each repeat, summarised per finetune node. */
function downstreamOf(arm: ArmInstance, jobs: JobInstance[], results: Map<string, JobResult>): DownstreamSummary[] {
  const byNode = new Map<string, Array<NonNullable<JobResult['downstream']>>>();
  for (const final of arm.finals) {
    for (const j of jobs) {
      const d = results.get(j.id)?.downstream;
      if (j.kind !== 'finetune' || j.inputs[0] !== final || !d) continue;
      byNode.set(j.node, [...(byNode.get(j.node) ?? []), d]);
    }
  }
  return [...byNode].map(([node, runs]) => ({
    node, suite: runs[0].suite, init: runs[0].init,
    average: meanStd(runs.map((r) => r.average).filter(Number.isFinite)),
    majorityAverage: runs[0].majority_average,
    tasks: runs[0].tasks.map((t) => ({
      task: t.task, metrics: t.metrics, contaminated: t.contamination !== null, majority: t.majority.score,
      score: meanStd(runs.map((r) => r.tasks.find((x) => x.task === t.task)?.score).filter((x): x is number => x !== undefined)),
    })),
  }));
}
