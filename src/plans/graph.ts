// From a plan to the concrete jobs it runs: one instance of every node per repeat (seeds
// shifted), plus clones of swept nodes, each with a content key that names its cached output.
import { createHash } from 'node:crypto';
import { ancestorsOf, type Arm, type Plan, type PlanNode, type Sweep } from './plan';

/**
 * Bump when what a node computes for the same settings changes, so old caches are not reused.
 * 2: settings are hashed with their defaults filled in (a value equal to the default is the same job).
 */
export const CACHE_VERSION = 2;

export interface JobInstance {
  /** Unique within the plan run, e.g. `small_a`, `small_a@1`, `tuned[lr_offset=-500]@2`. */
  id: string;
  node: string;
  kind: string;
  settings: unknown;
  /** Job ids of the inputs, in the node's input order. */
  inputs: string[];
  repeat: number;
  /** Content hash of kind, settings, data settings and the inputs' keys. */
  key: string;
}

export interface ArmInstance {
  /** Arm name, with the sweep value for swept arms: `offset[lr_offset=-500]`. */
  name: string;
  arm: string;
  sweepValue?: number;
  /** Final job id per repeat. */
  finals: string[];
  /** Job ids of the arm per repeat (the final job and its ancestors). */
  members: string[][];
}

export interface Expansion {
  jobs: JobInstance[];
  arms: ArmInstance[];
}

export function expandPlan(plan: Plan): Expansion {
  const jobs = new Map<string, JobInstance>();
  const arms: ArmInstance[] = [];
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const suffix = (r: number): string => (plan.repeats > 1 ? `@${r}` : '');

  // Variant of a node: `tag` marks clones made for a sweep value (empty for the plain node).
  const instantiate = (node: PlanNode, r: number, tag: string, sweep: Sweep | undefined, value: number | undefined,
    cloned: Set<string>): string => {
    const id = `${node.name}${cloned.has(node.name) ? tag : ''}${suffix(r)}`;
    if (jobs.has(id)) return id;
    const inputs = node.inputs.map((i) => instantiate(byName.get(i) as PlanNode, r, tag, sweep, value, cloned));
    const swept = sweep && value !== undefined && node.name === sweep.node ? { field: sweep.field, value } : undefined;
    const settings = node.settingsFor(r, swept);
    const key = contentKey({ kind: node.kind, settings, data: plan.data, inputs: inputs.map((i) => (jobs.get(i) as JobInstance).key) });
    jobs.set(id, { id, node: node.name, kind: node.kind, settings, inputs, repeat: r, key });
    return id;
  };

  const expandArm = (arm: Arm, tag: string, value: number | undefined): ArmInstance => {
    const cloned = new Set<string>();
    if (arm.sweep) {
      // The swept node and everything between it and the arm's final node take the new value.
      const between = ancestorsOf(arm.final, plan.nodes);
      for (const n of between) if (ancestorsOf(n, plan.nodes).has(arm.sweep.node)) cloned.add(n);
    }
    // Nodes that read the arm's final node alone (a finetune or eval of its model) measure the
    // arm: a swept arm gets one per value, so each value has its scores.
    const measures = arm.sweep ? plan.nodes.filter((n) => n.inputs.length === 1 && n.inputs[0] === arm.final) : [];
    const finals: string[] = [];
    const members: string[][] = [];
    for (let r = 0; r < plan.repeats; r++) {
      const final = instantiate(byName.get(arm.final) as PlanNode, r, tag, arm.sweep, value, cloned);
      for (const m of measures) instantiate(m, r, tag, arm.sweep, value, new Set([...cloned, m.name]));
      finals.push(final);
      members.push(jobAncestors(final, jobs));
    }
    return { name: `${arm.name}${tag}`, arm: arm.name, sweepValue: value, finals, members };
  };

  for (const arm of plan.arms) {
    if (arm.sweep) {
      for (const v of arm.sweep.values) arms.push(expandArm(arm, `[${arm.sweep.field}=${v}]`, v));
    } else {
      arms.push(expandArm(arm, '', undefined));
    }
  }
  // Nodes no arm reaches still run (a plan may hold them for inspection).
  for (const node of plan.nodes) {
    for (let r = 0; r < plan.repeats; r++) instantiate(node, r, '', undefined, undefined, new Set());
  }
  return { jobs: topological([...jobs.values()]), arms };
}

function jobAncestors(id: string, jobs: Map<string, JobInstance>): string[] {
  const seen = new Set<string>();
  const visit = (j: string): void => {
    if (seen.has(j)) return;
    seen.add(j);
    for (const i of (jobs.get(j) as JobInstance).inputs) visit(i);
  };
  visit(id);
  return [...seen];
}

function topological(jobs: JobInstance[]): JobInstance[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const out: JobInstance[] = [];
  const done = new Set<string>();
  const visit = (j: JobInstance): void => {
    if (done.has(j.id)) return;
    done.add(j.id);
    for (const i of j.inputs) visit(byId.get(i) as JobInstance);
    out.push(j);
  };
  jobs.forEach(visit);
  return out;
}

/** sha256 of the canonical JSON (sorted keys) of `value` and the cache version, hex, 16 chars. */
export function contentKey(value: unknown): string {
  return createHash('sha256').update(canonicalJson({ v: CACHE_VERSION, value })).digest('hex').slice(0, 16);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
