// Shared by the node kinds: turning a library ConfigError into a plan error that points at the
// field's line, and the facts every job reports about the process that ran it.
import { ConfigError } from '../../errors';
import type { FieldPath, PlanSource } from '../plan_source';

/**
 * Runs a library parser over plan fields and reports its ConfigError at the plan position of
 * the offending field: the node's own settings first, then the plan's defaults.
 */
export function withPlanPositions<T>(src: PlanSource, at: FieldPath, own: Record<string, unknown>,
  defaults: Record<string, unknown>, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const field = err.field.split('.')[0];
    const path = field in own ? [...at, ...err.field.split('.')] : field in defaults ? ['defaults', ...err.field.split('.')] : at;
    return src.fail(path, err.problem, err.fix);
  }
}

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** A model directory of an input job. */
export function inputModel(job: { inputs: ReadonlyArray<{ id: string; dir: string; result: { model?: string } }> }, index: number): string {
  const input = job.inputs[index];
  if (!input?.result.model) throw new Error(`input ${input?.id ?? index} produced no model`);
  return `${input.dir}/${input.result.model}`;
}
