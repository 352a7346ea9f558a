// A plan file (YAML, or JSON which is YAML too) parsed into plain data, remembering where every
// value came from so validation errors can point at `file:line:col` and the field's path.
import * as fs from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { errnoCode, FileError, UserError } from '../errors';
import { regularFile } from '../io/read_text';

export type FieldPath = ReadonlyArray<string | number>;

export class PlanError extends UserError {
  constructor(readonly where: string, readonly field: string, problem: string, fix: string) {
    super(`${where}: ${field ? `${field}: ` : ''}${problem}. Fix: ${fix}`);
    this.name = 'PlanError';
  }
}

export interface PlanSource {
  file: string;
  data: unknown;
  /** `file:line:col` of the value at `path` (or of its nearest present ancestor). */
  locate(path: FieldPath): string;
  /** Throws a PlanError pointing at the value at `path`. */
  fail(path: FieldPath, problem: string, fix: string): never;
}

export const fieldName = (path: FieldPath): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

export function parsePlanText(text: string, file: string): PlanSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    throw new PlanError(`${file}:${pos.line}:${pos.col}`, '', `is not valid YAML/JSON (${e.message.split('\n')[0]})`,
      'correct the syntax at that position');
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // The yaml library refuses aliases that would expand without bound (an "alias bomb").
    throw new PlanError(file, '', `cannot be expanded (${(err as Error).message})`, 'write the values out instead of nesting aliases (*name) of aliases');
  }
  const locate = (path: FieldPath): string => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const { line, col } = lines.linePos(node.range[0]);
        return `${file}:${line}:${col}`;
      }
    }
    return file;
  };
  return {
    file,
    data,
    locate,
    fail(path, problem, fix): never {
      throw new PlanError(locate(path), fieldName(path), problem, fix);
    },
  };
}

export function readPlanSource(file: string): PlanSource {
  let text: string;
  try {
    regularFile(file, 'give the path of a plan file');
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new PlanError(file, '', `cannot be read (${errnoCode(err)})`,
      'check the path, or name a bundled plan (deepfusion run --list)');
  }
  return parsePlanText(text, file);
}
