// Optimizer specs as JSON (training configs, run.json, optimizer.json) and the optimizer each
// one makes.
import { ConfigError } from '../../errors';
import { ADAFACTOR_DEFAULTS, adafactor, type AdafactorSpec } from './adafactor';
import { ADAMW_DEFAULTS, adamw, type AdamWSpec } from './adamw';
import { SGD_DEFAULTS, sgd, type SgdSpec } from './sgd';
import type { Optimizer, OptimizerName } from './types';

export type OptimizerSpec = AdamWSpec | AdafactorSpec | SgdSpec;

const DEFAULTS: Record<OptimizerName, OptimizerSpec> = { adamw: ADAMW_DEFAULTS, adafactor: ADAFACTOR_DEFAULTS, sgd: SGD_DEFAULTS };
export const OPTIMIZER_NAMES = Object.keys(DEFAULTS) as OptimizerName[];

export function makeOptimizer(spec: OptimizerSpec): Optimizer {
  switch (spec.name) {
    case 'adamw': return adamw(spec);
    case 'adafactor': return adafactor(spec);
    case 'sgd': return sgd(spec);
  }
}

/** The defaults of optimizer `name`. */
export function defaultOptimizerSpec(name: OptimizerName): OptimizerSpec {
  return { ...DEFAULTS[name] };
}

/**
 * Parses `{"name": "adafactor", ...}` (or just the name as a string), filling defaults and
 * naming the bad field; `source` names the file in errors.
 */
export function parseOptimizerSpec(json: unknown, source: string): OptimizerSpec {
  const raw = (typeof json === 'string' ? { name: json } : json) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, 'optimizer', 'expected an object or a name', `write e.g. {"name": "adafactor"}`);
  }
  const name = raw.name as OptimizerName;
  if (!OPTIMIZER_NAMES.includes(name)) {
    throw new ConfigError(source, 'optimizer.name', `unknown optimizer ${JSON.stringify(raw.name)}`,
      `use one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const spec = defaultOptimizerSpec(name) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'name') continue;
    const fallback = spec[key];
    if (fallback === undefined) {
      throw new ConfigError(source, `optimizer.${key}`, `is not a hyperparameter of ${name}`,
        `remove it; ${name} takes ${Object.keys(spec).filter((k) => k !== 'name').join(', ') || 'no hyperparameters'}`);
    }
    if (typeof value !== typeof fallback || (typeof value === 'number' && !Number.isFinite(value))) {
      throw new ConfigError(source, `optimizer.${key}`, `expected a ${typeof fallback}, got ${JSON.stringify(value)}`,
        `set "${key}" to a ${typeof fallback} (default ${JSON.stringify(fallback)})`);
    }
    spec[key] = value;
  }
  const s = spec as unknown as OptimizerSpec;
  const inUnit = (field: string, v: number): void => {
    if (!(v >= 0 && v < 1)) throw new ConfigError(source, `optimizer.${field}`, `${v} is outside [0, 1)`, `set "${field}" in [0, 1)`);
  };
  if (s.name === 'adamw') {
    inUnit('beta1', s.beta1);
    inUnit('beta2', s.beta2);
  } else if (s.name === 'adafactor') {
    inUnit('beta1', s.beta1);
    if (!(s.decay_rate < 0)) {
      throw new ConfigError(source, 'optimizer.decay_rate', `${s.decay_rate} is not negative`,
        'use a negative exponent such as -0.8 (β2 = 1 − t^decay_rate)');
    }
  }
  return s;
}
