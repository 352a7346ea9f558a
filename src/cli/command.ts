// The shape every CLI command has; commands live one per file in ./commands and are listed in
// ./commands/index.ts. Commands are thin: parse, call the library, print.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors';

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage, options, an example. */
  help: string;
  run(argv: string[]): Promise<void>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors that point at `--help`. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UserError(`deepfusion ${command}: ${(err as Error).message}. See: deepfusion ${command} --help`);
  }
}

/** A numeric option: absent → fallback; not a number in range → a clear error. */
export function numberOption(command: string, name: string, value: string | undefined, fallback: number,
  opts: { integer?: boolean; min?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    const kind = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`;
    throw new UserError(`deepfusion ${command}: --${name} must be ${kind}, got "${value}"`);
  }
  return n;
}

export function requireOption(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new UserError(`deepfusion ${command}: --${name} is required. See: deepfusion ${command} --help`);
  }
  return value;
}
