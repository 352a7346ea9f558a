// A plan checked whole before any job runs. Node kinds say what model each job will make from
// its inputs' (NodeKind.config), so sources that cannot be fused, a model too large for the
// machine, or a plan of absurd size fail in seconds, with the node's position in the plan file,
// instead of after the hours of training that come before them.
import { UserError } from '../errors';
import type { T5Config } from '../model/config';
import { expandPlan } from './graph';
import type { NodeKinds } from './job';
import type { Plan } from './plan';

/** More jobs than this is a typo (repeats × sweep values), not an experiment. */
export const MAX_JOBS = 10_000;

/** Throws a UserError naming the plan position of the first job that cannot work; `vocabSize` is the tokenizer's. */
export function checkPlan(plan: Plan, kinds: NodeKinds, vocabSize: number): void {
  const { jobs } = expandPlan(plan);
  if (jobs.length > MAX_JOBS) {
    throw new UserError(`${plan.file}: the plan expands to ${jobs.length} jobs (nodes × repeats × sweep values), more than ` +
      `${MAX_JOBS}. Fix: lower repeats or the number of swept values`);
  }
  const where = new Map(plan.nodes.map((n) => [n.name, n.where]));
  const configs = new Map<string, T5Config | undefined>();
  // Jobs come in dependency order, so every input's config is known before its readers'.
  for (const job of jobs) {
    try {
      configs.set(job.id, kinds[job.kind].config?.(job.settings, job.inputs.map((i) => configs.get(i)), vocabSize));
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError(`${where.get(job.node)}: node ${job.node}${job.id === job.node ? '' : ` (job ${job.id})`}: ${err.message}`);
    }
  }
}
