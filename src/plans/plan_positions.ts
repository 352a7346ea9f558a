// Library settings are checked by their own declarations (src/util/settings.ts), which name the
// field; in a plan the error must point at the field's line.
import { ConfigError } from '../errors';
import type { FieldPath, PlanSource } from './plan_source';

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

