// Settings declared once. A declaration gives a setting's type, default, bounds, command-line
// flag and help text; from it come the CLI's options and --help lines, the validation of JSON
// configs and plan fields (a ConfigError naming the field or flag, which plans turn into
// file:line:col), the typed values the code reads, and which settings a resumed run must keep.
// Adding a setting is one entry in a table (see src/training/settings.ts) plus its use.
import type { ParseArgsConfig } from 'node:util';
import { ConfigError, UserError } from '../errors';

/** A value that is not what a setting takes: what is wrong and what is expected instead. */
export class SettingProblem extends Error {
  constructor(readonly problem: string, readonly expected: string) {
    super(problem);
  }
}

export interface Setting<T> {
  readonly help: string;
  /** Command-line flag (without --), or null for a setting only a config file or a plan sets. */
  readonly flag: string | null;
  /** Placeholder of the flag's value in --help ("N", "X", "<dir>"); empty for a switch (a flag without a value). */
  readonly arg: string;
  /** Heading the flag is listed under in --help. */
  readonly group: string;
  /** The value when none is given (undefined: absent, or derived from other settings). */
  readonly default: T | undefined;
  /** How the default reads in --help when it is not a plain value. */
  readonly defaultText?: string;
  /** A resumed run must have the same value (it changes the numbers, not just what is logged). */
  readonly identity: boolean;
  /**
   * The typed value of `value` (a config file's, a plan's, or a flag's after `fromFlag`); throws
   * SettingProblem, or a ConfigError naming a nested field of `field` for structured settings.
   */
  parse(value: unknown, source: string, field: string): T;
  /** A flag's text as the value `parse` takes. */
  fromFlag(text: string): unknown;
}

type Decls = Record<string, Setting<unknown>>;
export type SettingValues<D extends Decls> = { [K in keyof D]: D[K] extends Setting<infer T> ? T : never };

interface Common {
  help: string;
  /** Default: the setting's name with - for _; null: not on the command line. */
  flag?: string | null;
  arg?: string;
  group?: string;
  defaultText?: string;
  /** Default true: most settings change what a run computes. */
  identity?: boolean;
}

function setting<T>(c: Common, d: T | undefined, arg: string, parse: (v: unknown, source: string, field: string) => T,
  fromFlag: (text: string) => unknown = (t) => t): Setting<T> {
  return {
    // '' until the table names it: then the setting's name with - for _ (see Settings).
    help: c.help, flag: c.flag === undefined ? '' : c.flag, arg: c.arg ?? arg, group: c.group ?? '', default: d,
    defaultText: c.defaultText, identity: c.identity ?? true,
    parse: (v, source, field) => (v === undefined ? (d as T) : parse(v, source, field)), fromFlag,
  };
}

const numeric = (text: string): unknown => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text);
const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` in [${min}, ${max}]`;
  if (min !== undefined) return ` ≥ ${min}`;
  return max !== undefined ? ` ≤ ${max}` : '';
}

function checkNumber(v: unknown, o: { min?: number; max?: number; integer?: boolean; above?: number }): number {
  const kind = `${o.integer ? 'an integer' : 'a number'}${o.above !== undefined ? ` > ${o.above}` : range(o.min, o.max)}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v)) ||
    (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max) || (o.above !== undefined && !(v > o.above))) {
    throw new SettingProblem(`expected ${kind}, got ${shown(v)}`, kind);
  }
  return v;
}

interface IntOpts extends Common { min?: number; max?: number }
/** An integer in [min, max]. */
export function int(o: IntOpts & { default: number }): Setting<number>;
export function int(o: IntOpts): Setting<number | undefined>;
export function int(o: IntOpts & { default?: number }): Setting<number | undefined> {
  return setting(o, o.default, 'N', (v) => checkNumber(v, { ...o, integer: true }), numeric);
}

interface NumOpts extends Common { min?: number; max?: number; /** Strictly greater than. */ above?: number }
/** A finite number in [min, max] (or above `above`). */
export function num(o: NumOpts & { default: number }): Setting<number>;
export function num(o: NumOpts & { nullable: true; default: null }): Setting<number | null>;
export function num(o: NumOpts & { nullable: true }): Setting<number | null | undefined>;
export function num(o: NumOpts): Setting<number | undefined>;
export function num(o: NumOpts & { default?: number | null; nullable?: boolean }): Setting<number | null | undefined> {
  return setting<number | null | undefined>(o, o.default, 'X', (v) => {
    if (v === null && o.nullable) return null;
    try {
      return checkNumber(v, o);
    } catch (err) {
      if (!(err instanceof SettingProblem) || !o.nullable) throw err;
      throw new SettingProblem(`expected null or ${err.expected}, got ${shown(v)}`, `null or ${err.expected}`);
    }
  }, (t) => (t === 'none' && o.nullable ? null : numeric(t)));
}

/** Non-empty text. */
export function text(o: Common & { default: string }): Setting<string>;
export function text(o: Common): Setting<string | undefined>;
export function text(o: Common & { default?: string }): Setting<string | undefined> {
  return setting(o, o.default, '<text>', (v) => {
    if (typeof v !== 'string' || v === '') throw new SettingProblem(`expected a non-empty string, got ${shown(v)}`, 'a non-empty string');
    return v;
  });
}

/** One of a fixed list of names. */
export function oneOf<V extends string>(values: readonly V[], o: Common & { default: NoInfer<V> }): Setting<V>;
export function oneOf<V extends string>(values: readonly V[], o: Common): Setting<V | undefined>;
export function oneOf<V extends string>(values: readonly V[], o: Common & { default?: NoInfer<V> }): Setting<V | undefined> {
  return setting(o, o.default, `<${values.join('|')}>`, (v) => {
    if (!values.includes(v as V)) throw new SettingProblem(`expected one of ${values.join(', ')}, got ${shown(v)}`, `one of ${values.join(', ')}`);
    return v as V;
  });
}

/** A yes/no setting: a switch on the command line (given: true). */
export function bool(o: Common & { default: boolean }): Setting<boolean> {
  return setting({ ...o, arg: '' }, o.default, '', (v) => {
    if (typeof v !== 'boolean') throw new SettingProblem(`expected true or false, got ${shown(v)}`, 'true or false');
    return v;
  });
}

/**
 * A structured setting (an optimizer or a schedule spec, a model config): `parse` validates it
 * and throws ConfigError(source, field…) or SettingProblem; `fromFlag` reads the flag's text.
 */
export function custom<T>(o: Common & {
  default?: T; arg: string; parse: (v: unknown, source: string, field: string) => T; fromFlag?: (text: string) => unknown;
}): Setting<T> {
  return setting(o, o.default, o.arg, o.parse, o.fromFlag);
}

/** Where a layer of values came from: a file or plan (fields) or the command line (flags). */
export interface Layer {
  values: Record<string, unknown>;
  /** Named in errors, e.g. "train.json" or "deepfusion pretrain". */
  source: string;
  /** The values came from flags: errors name --flag instead of the field. */
  fromFlags?: boolean;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** A table of settings and what derives from it. */
export class Settings<D extends Decls> {
  constructor(
    /** What one of them is called in errors ("training setting"). */
    readonly what: string,
    decls: D,
  ) {
    const named = Object.entries(decls).map(([k, d]) => [k, d.flag === '' ? { ...d, flag: k.replace(/_/g, '-') } : d]);
    this.decls = Object.fromEntries(named) as D;
  }

  readonly decls: D;

  get keys(): Array<keyof D & string> {
    return Object.keys(this.decls);
  }

  has(key: string): key is keyof D & string {
    return Object.prototype.hasOwnProperty.call(this.decls, key);
  }

  /** A table of some of these settings. */
  pick<K extends keyof D & string>(keys: readonly K[], what = this.what): Settings<Pick<D, K>> {
    return new Settings(what, Object.fromEntries(keys.map((k) => [k, this.decls[k]])) as Pick<D, K>);
  }

  /** A table without some of these settings. */
  omit<K extends keyof D & string>(keys: readonly K[], what = this.what): Settings<Omit<D, K>> {
    return new Settings(what, Object.fromEntries(Object.entries(this.decls).filter(([k]) => !keys.includes(k as K))) as Omit<D, K>);
  }

  /**
   * The same settings with other defaults, e.g. fine-tuning's step count and learning rate:
   * `texts` says how a default reads in --help when it is not a plain value.
   */
  withDefaults(values: Partial<SettingValues<D>>, texts: Partial<Record<keyof D, string>> = {}, what = this.what): Settings<D> {
    const decls = Object.fromEntries(Object.entries(this.decls).map(([k, d]) => {
      if (!(k in values)) return [k, k in texts ? { ...d, defaultText: texts[k as keyof D] } : d];
      const value = values[k as keyof D];
      // A structured default is copied on every use, so a caller that adjusts its value cannot change the next one.
      const fresh = (): unknown => (typeof value === 'object' && value !== null ? structuredClone(value) : value);
      return [k, { ...d, default: value, defaultText: texts[k as keyof D],
        parse: (v: unknown, source: string, field: string) => (v === undefined ? fresh() : d.parse(v, source, field)) }];
    }));
    return new Settings(what, decls as D);
  }

  /** The union of two tables (names must not repeat). */
  with<E extends Decls>(other: Settings<E>, what = this.what): Settings<D & E> {
    for (const k of other.keys) if (this.has(k)) throw new Error(`setting "${k}" is declared twice`);
    return new Settings(what, { ...this.decls, ...other.decls });
  }

  /**
   * The typed values of the layers merged (later layers override earlier ones; undefined values
   * do not count), defaults filled in. An unknown name, or a value a setting does not take, is a
   * ConfigError naming the layer's source and the field (or --flag) and the fix.
   */
  resolve(layers: readonly Layer[]): SettingValues<D> {
    const merged: Record<string, { value: unknown; layer: Layer }> = {};
    for (const layer of layers) {
      for (const [key, value] of Object.entries(layer.values)) {
        if (value === undefined) continue;
        if (!this.has(key)) {
          throw new ConfigError(layer.source, key, `is not a ${this.what}`, `remove it; the ${this.what}s are ${this.keys.join(', ')}`);
        }
        merged[key] = { value, layer };
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(this.decls)) {
      const given = merged[key];
      out[key] = this.parseOne(key, decl, given?.value, given?.layer);
    }
    return out as SettingValues<D>;
  }

  /** Every setting at its default. */
  defaults(): SettingValues<D> {
    return this.resolve([]);
  }

  /** One setting's value from a layer (for checks of a single field against its declaration). */
  parseOne(key: string, decl: Setting<unknown>, value: unknown, layer: Layer | undefined): unknown {
    const source = layer?.source ?? '(defaults)';
    try {
      return decl.parse(value, source, key);
    } catch (err) {
      if (!(err instanceof SettingProblem)) throw err;
      if (layer?.fromFlags && decl.flag !== null) {
        throw new UserError(`${source}: --${decl.flag} must be ${err.expected}, got ${shown(value)}. Fix: give --${decl.flag} ${err.expected}`);
      }
      throw new ConfigError(source, key, err.problem, `set "${key}" to ${err.expected}`);
    }
  }

  /** node:util parseArgs options of the settings that have a flag. */
  cliOptions(): Options {
    return Object.fromEntries(this.flagged().map(([, d]) => [d.flag as string, { type: d.arg === '' ? 'boolean' as const : 'string' as const }]));
  }

  /** The values of parsed flags, by setting name (flags not given are left out). */
  fromArgs(values: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, d] of this.flagged()) {
      const v = values[d.flag as string];
      if (typeof v === 'string') out[key] = d.fromFlag(v);
      else if (v === true) out[key] = true;
    }
    return out;
  }

  /** --help lines of the flags, under their group headings (in declaration order). */
  help(groups?: readonly string[]): string {
    const byGroup = new Map<string, string[]>();
    for (const [, d] of this.flagged()) {
      if (groups && !groups.includes(d.group)) continue;
      const shownDefault = d.defaultText ?? (d.default === undefined || d.arg === '' ? undefined : d.default === null ? 'none' : String(d.default));
      const lines = byGroup.get(d.group) ?? [];
      lines.push(...helpEntry(`--${d.flag}${d.arg ? ` ${d.arg}` : ''}`, `${d.help}${shownDefault === undefined ? '' : ` (default ${shownDefault})`}`));
      byGroup.set(d.group, lines);
    }
    const order = groups ?? [...byGroup.keys()];
    return order.filter((g) => byGroup.has(g)).map((g) => `${g ? `${g}:\n` : ''}${(byGroup.get(g) as string[]).join('\n')}`).join('\n\n');
  }

  /** The names of the settings a resumed run must keep. */
  identityKeys(): Array<keyof D & string> {
    return this.keys.filter((k) => this.decls[k].identity);
  }

  private flagged(): Array<[string, Setting<unknown>]> {
    return Object.entries(this.decls).filter(([, d]) => d.flag !== null);
  }
}

export function defineSettings<D extends Decls>(what: string, decls: D): Settings<D> {
  return new Settings(what, decls);
}

const HELP_INDENT = 27;
const HELP_WIDTH = 100;

/** `  --flag X               help…` wrapped at the help column. */
function helpEntry(flag: string, help: string): string[] {
  const words = help.split(/\s+/);
  const lines: string[] = [];
  let line = `  ${flag}`.padEnd(HELP_INDENT - 1);
  if (line.length >= HELP_INDENT) {
    lines.push(line);
    line = ' '.repeat(HELP_INDENT - 1);
  }
  for (const w of words) {
    if (line.trim() !== '' && line.length + 1 + w.length > HELP_WIDTH && line.length > HELP_INDENT) {
      lines.push(line);
      line = ' '.repeat(HELP_INDENT - 1);
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines;
}
