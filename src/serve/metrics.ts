// metrics.jsonl lines (src/training/metrics.ts) as columns, the shape a chart draws from: one
// array per numeric field, per record type ("train", "eval", and whatever type a later kind of
// run writes). A line that is not a JSON record with a type and a numeric step — a half-written
// or damaged line — is skipped and counted, never thrown.

export type Columns = Record<string, Array<number | null>>;

export interface MetricsColumns {
  /** By record type: { train: {step: [...], loss: [...]}, eval: {...} }. */
  types: Record<string, Columns>;
  /** Lines that were not valid records. */
  skipped: number;
}

const TYPE = /^[a-z][a-z0-9_]{0,31}$/;
/** Fields per record type at most: a file with ever new keys must not grow without bound. */
const MAX_FIELDS = 64;

/** Columns of one record type: a field missing from a record (or new after it) is null there. */
class TypeColumns {
  length = 0;
  readonly cols: Columns = {};

  push(record: Record<string, unknown>, fields: readonly string[] | undefined): void {
    for (const [key, value] of Object.entries(record)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || (fields && !fields.includes(key))) continue;
      if (!(key in this.cols)) {
        if (Object.keys(this.cols).length >= MAX_FIELDS) continue;
        this.cols[key] = new Array<number | null>(this.length).fill(null);
      }
    }
    for (const [key, col] of Object.entries(this.cols)) {
      const v = record[key];
      col.push(typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
    this.length++;
  }
}

/** The record a line holds, or undefined for anything else. */
export function parseRecord(line: string): (Record<string, unknown> & { type: string; step: number }) | undefined {
  if (line.trim() === '') return undefined;
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return undefined;
  const rec = r as Record<string, unknown>;
  if (typeof rec.type !== 'string' || !TYPE.test(rec.type) || typeof rec.step !== 'number' || !Number.isFinite(rec.step)) return undefined;
  return rec as Record<string, unknown> & { type: string; step: number };
}

/**
 * Columns of the records among `lines`. `fields`, if given, keeps only those fields of a record
 * type (a plan's overview needs the step, loss and time of training records, not every field).
 */
export function metricsColumns(lines: readonly string[], fields: Readonly<Record<string, readonly string[]>> = {}): MetricsColumns {
  const types = new Map<string, TypeColumns>();
  let skipped = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const rec = parseRecord(line);
    if (!rec) {
      skipped++;
      continue;
    }
    let t = types.get(rec.type);
    if (!t) {
      t = new TypeColumns();
      types.set(rec.type, t);
    }
    t.push(rec, fields[rec.type]);
  }
  return { types: Object.fromEntries([...types].map(([k, t]) => [k, t.cols])), skipped };
}
