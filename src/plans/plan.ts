// A fusion plan: named nodes (train, fuse, selfFuse, eval) forming a graph, arms that name the
// node whose result an arm reports, repeats with seeds, and optional sweeps. Validation
// points at file:line:col and the field; node kinds validate their own settings.
import { fieldName, PlanError, type FieldPath, type PlanSource } from './plan_source';

/** What a node kind contributes to parsing; the kinds live in ./kinds. */
export interface NodeKindParser<S> {
  /** Validates the node's settings (already merged with the plan's defaults where the kind wants them). */
  parse(raw: unknown, at: FieldPath, src: PlanSource, defaults: Record<string, unknown>): S;
  /** Names of the nodes this node reads. */
  inputs(settings: S): string[];
}

export interface PlanNode {
  name: string;
  kind: string;
  settings: Record<string, unknown>;
  inputs: string[];
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

export interface DataSettings {
  /** 'default' (the bundled corpus) or a path. */
  corpus: string;
  /** 'default' (trained on the corpus, cached) or a tokenizer.json path. */
  tokenizer: string;
  vocab_size: number;
  input_length: number;
  /** Validation batches every evaluation uses (the same for every node). */
  eval_batches: number;
  eval_batch_size: number;
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

const DATA_DEFAULTS: DataSettings = {
  corpus: 'default', tokenizer: 'default', vocab_size: 8192, input_length: 128, eval_batches: 8, eval_batch_size: 16,
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field readers that fail with the plan position of the offending value. */
export class Fields {
  constructor(private readonly src: PlanSource, private readonly at: FieldPath, private readonly obj: Obj) {}

  static of(src: PlanSource, at: FieldPath, v: unknown, what: string): Fields {
    if (!isObj(v)) src.fail(at, `expected a mapping (${what})`, `write ${fieldName(at)} as key: value lines`);
    return new Fields(src, at, v);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.obj[key];
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

  int(key: string, min: number, fallback?: number): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(key, v === undefined ? 'is missing' : `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`, `set ${key}: <integer ≥ ${min}>`);
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

/** Validates a parsed plan file; `kinds` maps each node kind to its parser. */
export function parsePlan(src: PlanSource, kinds: Record<string, NodeKindParser<Record<string, unknown>>>): Plan {
  const top = Fields.of(src, [], src.data, 'the plan');
  top.onlyKnown(['name', 'description', 'data', 'defaults', 'repeats', 'nodes', 'arms', 'baseline']);
  const dataF = Fields.of(src, ['data'], top.raw('data') ?? {}, 'data settings');
  dataF.onlyKnown(Object.keys(DATA_DEFAULTS));
  const data: DataSettings = {
    corpus: dataF.string('corpus', DATA_DEFAULTS.corpus),
    tokenizer: dataF.string('tokenizer', DATA_DEFAULTS.tokenizer),
    vocab_size: dataF.int('vocab_size', 128, DATA_DEFAULTS.vocab_size),
    input_length: dataF.int('input_length', 8, DATA_DEFAULTS.input_length),
    eval_batches: dataF.int('eval_batches', 1, DATA_DEFAULTS.eval_batches),
    eval_batch_size: dataF.int('eval_batch_size', 1, DATA_DEFAULTS.eval_batch_size),
  };
  if (top.has('defaults')) Fields.of(src, ['defaults'], top.raw('defaults'), 'defaults for train nodes');
  const defaults = (top.raw('defaults') ?? {}) as Obj;

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
    const parser = kinds[kind];
    const settings = parser.parse(nodeF.raw(kind), ['nodes', name, kind], src, defaults);
    const inputs = parser.inputs(settings);
    for (const input of inputs) {
      if (!nameSet.has(input)) nodeF.fail(kind, `reads node "${input}", which the plan does not define`, `define ${input} or use one of ${names.join(', ')}`);
      if (input === name) nodeF.fail(kind, 'reads itself', 'name another node');
    }
    return { name, kind, settings, inputs };
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
    if (armF.has('sweep')) arm.sweep = parseSweep(src, ['arms', armName, 'sweep'], armF.raw('sweep'), nodes, arm.final, kinds);
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
    repeats: top.int('repeats', 1, 1),
    nodes,
    arms,
    baseline,
  };
}

function parseSweep(src: PlanSource, at: FieldPath, v: unknown, nodes: PlanNode[], final: string,
  kinds: Record<string, NodeKindParser<Record<string, unknown>>>): Sweep {
  const f = Fields.of(src, at, v, 'sweep: {node: <node>, field: lr_offset, values: [...]}');
  f.onlyKnown(['node', 'field', 'values']);
  const node = f.nodeRef('node', new Set(nodes.map((n) => n.name)));
  if (!ancestorsOf(final, nodes).has(node)) f.fail('node', `"${node}" is not "${final}" or one of its ancestors`, 'sweep a node of this arm');
  const target = nodes.find((n) => n.name === node) as PlanNode;
  const field = f.string('field');
  const values = f.raw('values');
  if (!Array.isArray(values) || values.length === 0 || values.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    f.fail('values', 'expected a non-empty list of numbers', 'write values: [-1000, 0, 1000]');
  }
  if (target.settings[field] !== undefined && typeof target.settings[field] !== 'number') {
    f.fail('field', `"${field}" of node ${node} is not a number`, 'sweep a numeric setting, e.g. lr_offset or steps');
  }
  // Each value must make a valid node: the node's kind checks the field and its range.
  for (const [i, v] of (values as number[]).entries()) {
    try {
      kinds[target.kind].parse({ ...target.settings, [field]: v }, ['nodes', node, target.kind], src, {});
    } catch (err) {
      const detail = err instanceof PlanError ? err.message.slice(err.where.length + 2) : (err as Error).message;
      src.fail([...at, 'values', i], `node ${node} with ${field} = ${v} is not valid (${detail})`, 'sweep a setting the node takes, over valid values');
    }
  }
  return { node, field, values: values as number[] };
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
