// A fusion plan: named nodes (train, fuse, selfFuse, eval) forming a graph, arms that name the
// node whose result an arm reports, repeats with seeds, and optional sweeps. Validation
// points at file:line:col and the field; node kinds validate their own settings.
import { DATA_SETTINGS, type DataSettings } from '../data/settings';
import { TRAINING_SETTINGS } from '../training/settings';
import type { NodeKind, NodeKinds } from './job';
import { withPlanPositions } from './plan_positions';
import { fieldName, PlanError, type FieldPath, type PlanSource } from './plan_source';

/** Seeds of repeat r are shifted by this much, far apart from seeds a plan writes by hand. */
export const REPEAT_SEED_STRIDE = 1000;
/** More repeats than this is a typo, not an experiment (and the shifted seeds would run out of room). */
export const MAX_REPEATS = 1000;

export interface PlanNode {
  name: string;
  kind: string;
  /** `file:line:col` of the node's settings, for errors found after parsing. */
  where: string;
  /** The settings its kind parsed (defaults filled in). */
  settings: unknown;
  inputs: string[];
  /** The settings of repeat `r`, with a swept field set to a value (checked when the plan was parsed). */
  settingsFor(r: number, sweep?: { field: string; value: number }): unknown;
}

export interface Sweep {
  /** The node whose setting varies; it and the nodes downstream of it in the arm are cloned. */
  node: string;
  field: string;
  values: number[];
}

export interface Arm {
  name: string;
  /** The node whose evaluations are the arm's result; the arm is it and all its ancestors. */
  final: string;
  sweep?: Sweep;
}

export interface Plan {
  name: string;
  description: string;
  file: string;
  data: DataSettings;
  repeats: number;
  nodes: PlanNode[];
  arms: Arm[];
  /** Arm the others are compared with (compute to reach its final loss). */
  baseline?: string;
}

type Obj = Record<string, unknown>;

const isNumberList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field readers that fail with the plan position of the offending value. */
export class Fields {
  constructor(private readonly src: PlanSource, private readonly at: FieldPath, private readonly obj: Obj) {}

  static of(src: PlanSource, at: FieldPath, v: unknown, what: string): Fields {
    if (!isObj(v)) src.fail(at, `expected a mapping (${what})`, `write ${at.length > 0 ? fieldName(at) : 'the plan'} as key: value lines`);
    return new Fields(src, at, v);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  rawObject(): Obj {
    return this.obj;
  }

  path(key: string): FieldPath {
    return [...this.at, key];
  }

  fail(key: string, problem: string, fix: string): never {
    return this.src.fail(this.path(key), problem, fix);
  }

  onlyKnown(known: readonly string[]): void {
    for (const key of Object.keys(this.obj)) {
      if (!known.includes(key)) this.fail(key, 'is not a known field', `use one of: ${known.join(', ')}`);
    }
  }

  string(key: string, fallback?: string): string {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'string' || v === '') this.fail(key, v === undefined ? 'is missing' : `expected text, got ${JSON.stringify(v)}`, `set ${key}: <text>`);
    return v;
  }

  int(key: string, min: number, fallback?: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
      this.fail(key, v === undefined ? 'is missing' : `expected an integer ${range}, got ${JSON.stringify(v)}`, `set ${key}: <integer ${range}>`);
    }
    return v;
  }

  number(key: string, fallback?: number): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(key, v === undefined ? 'is missing' : `expected a number, got ${JSON.stringify(v)}`, `set ${key}: <number>`);
    }
    return v;
  }

  oneOf<T extends string>(key: string, options: readonly T[], fallback?: T): T {
    const v = this.obj[key] ?? fallback;
    if (!options.includes(v as T)) this.fail(key, `expected one of ${options.join(', ')}, got ${JSON.stringify(v)}`, `set ${key}: ${options[0]}`);
    return v as T;
  }

  nodeRef(key: string, nodes: ReadonlySet<string>): string {
    const v = this.string(key);
    if (!nodes.has(v)) this.fail(key, `names no node ("${v}")`, `use one of the plan's nodes: ${[...nodes].join(', ')}`);
    return v;
  }
}

/**
 * Validates a parsed plan file; `kinds` maps each node kind to its parser. `overrides` are
 * defaults for the nodes that train, given outside the file (e.g. `deepfusion run --precision`):
 * they replace the file's defaults, and a node's own fields still win.
 */
export function parsePlan(src: PlanSource, kinds: NodeKinds, overrides: Obj = {}): Plan {
  const top = Fields.of(src, [], src.data, 'the plan');
  top.onlyKnown(['name', 'description', 'data', 'defaults', 'repeats', 'nodes', 'arms', 'baseline']);
  const dataRaw = Fields.of(src, ['data'], top.raw('data') ?? {}, 'data settings').rawObject();
  const declared = withPlanPositions(src, ['data'], dataRaw, {}, () => DATA_SETTINGS.resolve([{ values: dataRaw, source: src.file }]));
  // Every node is evaluated on the same batches, so their size cannot follow one node's batch size.
  const data: DataSettings = { ...declared, eval_batch_size: declared.eval_batch_size ?? TRAINING_SETTINGS.defaults().batch_size };
  if (top.has('defaults')) Fields.of(src, ['defaults'], top.raw('defaults'), 'defaults for train nodes');
  const defaults = { ...(top.raw('defaults') ?? {}) as Obj, ...overrides };

  const nodesF = Fields.of(src, ['nodes'], top.raw('nodes'), 'the nodes, by name');
  const names = Object.keys(top.raw('nodes') as Obj);
  if (names.length === 0) top.fail('nodes', 'is empty', 'add at least one node, e.g. small: {train: {preset: s, steps: 100}}');
  const nameSet = new Set(names);
  const nodes: PlanNode[] = names.map((name) => {
    if (!/^[A-Za-z][\w-]*$/.test(name)) nodesF.fail(name, 'is not a valid node name', 'use letters, digits, - and _, starting with a letter');
    const nodeF = Fields.of(src, ['nodes', name], nodesF.raw(name), `node ${name}: one of ${Object.keys(kinds).join(', ')}`);
    const kindKeys = Object.keys(nodesF.raw(name) as Obj);
    if (kindKeys.length !== 1 || !(kindKeys[0] in kinds)) {
      nodeF.fail(kindKeys[0] ?? '', `a node has exactly one kind, got ${JSON.stringify(kindKeys)}`,
        `write ${name}: {<kind>: {...}} with kind one of ${Object.keys(kinds).join(', ')}`);
    }
    const kind = kindKeys[0];
    const node = planNode(name, kinds[kind], nodeF.raw(kind), ['nodes', name, kind], src, defaults, overrides);
    for (const input of node.inputs) {
      if (!nameSet.has(input)) nodeF.fail(kind, `reads node "${input}", which the plan does not define`, `define ${input} or use one of ${names.join(', ')}`);
      if (input === name) nodeF.fail(kind, 'reads itself', 'name another node');
    }
    return node;
  });
  checkAcyclic(nodes, src);

  const armsRaw = top.raw('arms');
  const armsF = Fields.of(src, ['arms'], armsRaw ?? {}, 'the arms, by name');
  const arms: Arm[] = Object.keys((armsRaw ?? {}) as Obj).map((armName) => {
    const v = armsF.raw(armName);
    if (typeof v === 'string') return { name: armName, final: armsF.nodeRef(armName, nameSet) };
    const armF = Fields.of(src, ['arms', armName], v, `arm ${armName}: {final: <node>, sweep: {...}}`);
    armF.onlyKnown(['final', 'sweep']);
    const arm: Arm = { name: armName, final: armF.nodeRef('final', nameSet) };
    if (armF.has('sweep')) arm.sweep = parseSweep(src, ['arms', armName, 'sweep'], armF.raw('sweep'), nodes, arm.final);
    return arm;
  });
  if (arms.length === 0) {
    // Without arms every node that nothing reads is reported on its own.
    const read = new Set(nodes.flatMap((n) => n.inputs));
    for (const n of nodes) if (!read.has(n.name)) arms.push({ name: n.name, final: n.name });
  }
  const baseline = top.has('baseline') ? top.string('baseline') : undefined;
  if (baseline !== undefined && !arms.some((a) => a.name === baseline)) {
    top.fail('baseline', `names no arm ("${baseline}")`, `use one of: ${arms.map((a) => a.name).join(', ')}`);
  }
  return {
    name: top.string('name'),
    description: top.has('description') ? top.string('description') : '',
    file: src.file,
    data,
    repeats: top.int('repeats', 1, 1, MAX_REPEATS),
    nodes,
    arms,
    baseline,
  };
}

/** A node of kind S: its settings, and its variants for repeats and sweeps from its raw fields. */
function planNode<S>(name: string, kind: NodeKind<S>, raw: unknown, at: FieldPath, src: PlanSource, defaults: Obj, overrides: Obj): PlanNode {
  const settings = kind.parse(raw, at, src, defaults, overrides);
  const reseed = (s: S, r: number): S => (kind.reseed ? kind.reseed(s, REPEAT_SEED_STRIDE * r) : s);
  return {
    name, kind: kind.name, where: src.locate(at), settings, inputs: kind.inputs(settings),
    settingsFor: (r, sweep) => reseed(sweep ? kind.parse({ ...(isObj(raw) ? raw : {}), [sweep.field]: sweep.value }, at, src, defaults, overrides) : settings, r),
  };
}

function parseSweep(src: PlanSource, at: FieldPath, v: unknown, nodes: PlanNode[], final: string): Sweep {
  const f = Fields.of(src, at, v, 'sweep: {node: <node>, field: lr_offset, values: [...]}');
  f.onlyKnown(['node', 'field', 'values']);
  const node = f.nodeRef('node', new Set(nodes.map((n) => n.name)));
  if (!ancestorsOf(final, nodes).has(node)) f.fail('node', `"${node}" is not "${final}" or one of its ancestors`, 'sweep a node of this arm');
  const target = nodes.find((n) => n.name === node);
  const field = f.string('field');
  const values = f.raw('values');
  if (!isNumberList(values)) return f.fail('values', 'expected a non-empty list of numbers', 'write values: [-1000, 0, 1000]');
  // Each value must make a valid node: the node's kind checks the field and its range.
  for (const [i, value] of values.entries()) {
    try {
      target?.settingsFor(0, { field, value });
    } catch (err) {
      const detail = err instanceof PlanError ? err.message.slice(err.where.length + 2) : (err as Error).message;
      src.fail([...at, 'values', i], `node ${node} with ${field} = ${value} is not valid (${detail})`, 'sweep a setting the node takes, over valid values');
    }
  }
  return { node, field, values };
}

/** The node and every node it (transitively) reads. */
export function ancestorsOf(name: string, nodes: PlanNode[]): Set<string> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const i of byName.get(n)?.inputs ?? []) visit(i);
  };
  visit(name);
  return seen;
}

function checkAcyclic(nodes: PlanNode[], src: PlanSource): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, trail: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      src.fail(['nodes', n], `the nodes form a cycle: ${[...trail.slice(trail.indexOf(n)), n].join(' → ')}`, 'a node can only read nodes that do not read it back');
    }
    state.set(n, 'visiting');
    for (const i of byName.get(n)?.inputs ?? []) visit(i, [...trail, n]);
    state.set(n, 'done');
  };
  for (const n of nodes) visit(n.name, []);
}
