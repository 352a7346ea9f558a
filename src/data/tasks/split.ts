// Fixed train / validation / test splits and size caps, chosen by hashes so that they depend on
// the data alone: no seed, no file order. Examples that share a group (the same review text, the
// same Brown document, the same WordNet lemma) always land in the same split, so no test example
// has a twin in training.
import { unitHash } from '../../util/hash';
import type { TaskExample } from './types';

export interface HashSplitOptions<T> {
  /** Items with the same group stay together. */
  group(item: T): string;
  /** Splits are drawn within each stratum (e.g. a class), so small classes appear in every split. */
  stratum?(item: T): string;
  validation: number;
  test: number;
}

export interface HashSplit<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Within each stratum, the groups sorted by hash: the first share `test` go to test, the next
 * share `validation` to validation, the rest to train (a stratum of three groups or more gives
 * each held-out split with a share above 0 at least one group). Items keep their input order within a split.
 */
export function hashSplit<T>(items: readonly T[], o: HashSplitOptions<T>): HashSplit<T> {
  const strata = new Map<string, Set<string>>();
  for (const item of items) {
    const s = o.stratum?.(item) ?? '';
    const groups = strata.get(s) ?? new Set<string>();
    groups.add(o.group(item));
    strata.set(s, groups);
  }
  const where = new Map<string, 'train' | 'validation' | 'test'>();
  for (const [s, groups] of strata) {
    const hashes = new Map([...groups].map((g) => [g, unitHash(`${s}\u0000${g}`)]));
    const sorted = [...groups].sort((a, b) => (hashes.get(a) as number) - (hashes.get(b) as number) || (a < b ? -1 : 1));
    const share = (f: number): number => (f > 0 && sorted.length >= 3 ? Math.max(1, Math.round(sorted.length * f)) : 0);
    const test = share(o.test);
    const validation = share(o.validation);
    sorted.forEach((g, i) => {
      // A group in several strata (e.g. a review listed twice) keeps the first place it was given.
      if (!where.has(g)) where.set(g, i < test ? 'test' : i < test + validation ? 'validation' : 'train');
    });
  }
  const out: HashSplit<T> = { train: [], validation: [], test: [] };
  for (const item of items) out[where.get(o.group(item)) as keyof HashSplit<T>].push(item);
  return out;
}

/** At most `cap` examples, those with the lowest hash of their id (a stable sample), in hash order. */
export function capByHash(examples: readonly TaskExample[], cap: number): TaskExample[] {
  const ranked = examples.map((e) => ({ e, h: unitHash(e.id) }));
  ranked.sort((a, b) => a.h - b.h || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0));
  return ranked.slice(0, cap).map((r) => r.e);
}
