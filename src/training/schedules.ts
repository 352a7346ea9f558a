// Learning-rate schedules as pure functions of a JSON-able spec and the step. Every schedule is
// evaluated at `step + offset` (docs/fusion.md, "Learning-rate offset"): a fused model continues a
// schedule from wherever its plan says, and a negative offset means an earlier point of the
// schedule (for inverse square root: a larger learning rate).
import { ConfigError } from '../errors';

export type ScheduleSpec =
  /** T5: `base / sqrt(max(t, warmup))`; base 1, warmup 10⁴ gives 0.01 during warmup. */
  | { kind: 'inverse-sqrt'; base: number; warmup: number }
  /** `lr`, reached linearly over `warmup` steps (0: no warmup). */
  | { kind: 'constant'; lr: number; warmup: number }
  /** Linear warmup to `lr`, then linear decay to `final` at step `total`, then `final`. */
  | { kind: 'linear'; lr: number; warmup: number; total: number; final: number }
  /** Linear warmup to `lr`, then half a cosine down to `final` at step `total`, then `final`. */
  | { kind: 'cosine'; lr: number; warmup: number; total: number; final: number };

export type ScheduleKind = ScheduleSpec['kind'];
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['inverse-sqrt', 'constant', 'linear', 'cosine'];

/**
 * T5's pre-training schedule. With Adafactor it is exactly Adafactor's "relative step"
 * `min(1e-2, 1/sqrt(t))`, so that step size is expressed here, where the offset applies to it.
 */
export const T5_SCHEDULE: ScheduleSpec = { kind: 'inverse-sqrt', base: 1, warmup: 10_000 };

/**
 * The schedule time for update number `step` (1-based: the first update is step 1) shifted by
 * `offset`. Clamped at 1, the first update, so an offset reaching before the start of training
 * gives the schedule's opening value (for inverse square root: its peak) and every schedule
 * stays finite.
 */
export function scheduleTime(step: number, offset = 0): number {
  return Math.max(1, step + offset);
}

/** The learning rate of update number `step` (1-based) under `spec`, shifted by `offset`. */
export function learningRate(spec: ScheduleSpec, step: number, offset = 0): number {
  const t = scheduleTime(step, offset);
  switch (spec.kind) {
    case 'inverse-sqrt':
      return spec.base / Math.sqrt(Math.max(t, spec.warmup));
    case 'constant':
      return spec.lr * warmupFactor(t, spec.warmup);
    case 'linear':
    case 'cosine': {
      if (t < spec.warmup) return spec.lr * warmupFactor(t, spec.warmup);
      const span = spec.total - spec.warmup;
      const progress = span <= 0 ? 1 : Math.min(1, (t - spec.warmup) / span);
      const shape = spec.kind === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
      return spec.final + (spec.lr - spec.final) * shape;
    }
  }
}

/** Linear ramp: lr/warmup at t = 1, the full lr from t = warmup on. */
function warmupFactor(t: number, warmup: number): number {
  return warmup > 0 ? Math.min(1, t / warmup) : 1;
}

/** Parses a schedule spec (defaults filled in); `source` names the file in errors. */
export function parseScheduleSpec(json: unknown, source: string): ScheduleSpec {
  const field = (name: string): string => `schedule.${name}`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(source, 'schedule', 'expected an object', `write e.g. {"kind": "inverse-sqrt", "warmup": 10000}`);
  }
  const raw = json as Record<string, unknown>;
  const kind = raw.kind;
  if (!SCHEDULE_KINDS.includes(kind as ScheduleKind)) {
    throw new ConfigError(source, field('kind'), `unknown schedule ${JSON.stringify(kind)}`,
      `use one of ${SCHEDULE_KINDS.join(', ')}`);
  }
  const known = new Set(['kind', ...Object.keys(defaultsOf(kind as ScheduleKind))]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) {
      throw new ConfigError(source, field(key), `is not a field of the ${String(kind)} schedule`,
        `remove it; the ${String(kind)} schedule takes ${[...known].filter((k) => k !== 'kind').join(', ')}`);
    }
  }
  const num = (name: string, min: number, integer = false): number => {
    const v = name in raw ? raw[name] : defaultsOf(kind as ScheduleKind)[name];
    if (v === undefined) throw new ConfigError(source, field(name), 'is missing', `add "${name}" to the schedule`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      throw new ConfigError(source, field(name), `expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(v)}`,
        `set "${name}" to ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
    }
    return v;
  };
  switch (kind as ScheduleKind) {
    case 'inverse-sqrt':
      return { kind: 'inverse-sqrt', base: num('base', 0), warmup: num('warmup', 0, true) };
    case 'constant':
      return { kind: 'constant', lr: num('lr', 0), warmup: num('warmup', 0, true) };
    case 'linear':
    case 'cosine': {
      const spec = { kind: kind as 'linear' | 'cosine', lr: num('lr', 0), warmup: num('warmup', 0, true),
        total: num('total', 1, true), final: num('final', 0) };
      if (spec.total < spec.warmup) {
        throw new ConfigError(source, field('total'), `${spec.total} is before the end of warmup (${spec.warmup})`,
          'make "total" at least "warmup"');
      }
      return spec;
    }
  }
}

/** Field defaults per kind; `undefined` marks a field that must be given. */
function defaultsOf(kind: ScheduleKind): Record<string, number | undefined> {
  switch (kind) {
    case 'inverse-sqrt': return { base: 1, warmup: 10_000 };
    case 'constant': return { lr: undefined, warmup: 0 };
    case 'linear':
    case 'cosine': return { lr: undefined, warmup: 0, total: undefined, final: 0 };
  }
}

/** The spec in one line, for logs. */
export function describeSchedule(spec: ScheduleSpec): string {
  const { kind, ...fields } = spec;
  return `${kind}(${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(', ')})`;
}
