// Where a command writes a model directory. The write replaces the whole directory (atomic.ts),
// so an output that is, holds or lies inside one of the command's sources, or that holds files
// the command did not make, would destroy them: such outputs are refused unless forced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError } from '../errors';
import { bool, defineSettings } from '../util/settings';
import { resolvedPath } from './atomic';
import { CONFIG_FILE } from './checkpoint';

export const OUTPUT_SETTINGS = defineSettings('output setting', {
  force: bool({
    default: false,
    help: 'write the output even where it would replace one of the sources, a directory holding one, a file, or a ' +
      'non-empty directory that is not a model directory (docs/safety.md)',
  }),
});

/** `p`, or the directory a symbolic link at `p` points to. */
function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return resolvedPath(p);
  }
}

const inside = (child: string, parent: string): boolean => child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** Why writing a model directory to `out` would destroy something, or null when it is safe. */
export function outputHazard(out: string, sources: readonly string[]): string | null {
  const target = realOrResolved(out);
  for (const source of sources) {
    const s = realOrResolved(source);
    if (target === s) return `is the source ${source}: writing it would replace the model being read`;
    if (inside(s, target)) return `holds the source ${source}: replacing it would delete that model`;
    if (inside(target, s)) return `lies inside the source ${source}`;
  }
  const cwd = realOrResolved(process.cwd());
  if (target === cwd || inside(cwd, target)) return 'is the current directory or holds it';
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return null;
  }
  if (!stat.isDirectory()) return 'is a file, not a directory';
  const entries = fs.readdirSync(target);
  if (entries.length > 0 && !entries.includes(CONFIG_FILE)) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
    return `is a non-empty directory that is not a model directory (it holds ${shown}), and writing would delete all of it`;
  }
  return null;
}

/** The output is, holds or lies inside a source (a forced write then replaces or changes what verification would read). */
export function overlapsSource(out: string, sources: readonly string[]): boolean {
  const target = realOrResolved(out);
  return sources.map(realOrResolved).some((s) => s === target || inside(s, target) || inside(target, s));
}

/**
 * Refuses an output directory that would destroy a source or files that are not a model (see
 * `outputHazard`), unless `force`. An existing model directory is replaced, as users expect.
 */
export function checkOutputDir(out: string, sources: readonly string[], force: boolean): void {
  if (force) return;
  const hazard = outputHazard(out, sources);
  if (hazard) throw new FileError(out, hazard, 'choose another output directory (-o), or add --force to replace it');
}

/** Creates `dir` (and its parents) for a command's output; a file in the way is named, not an errno. */
export function makeDirectory(dir: string, what: string): void {
  checkDirectoryPath(dir, what);
  fs.mkdirSync(dir, { recursive: true });
}

/** Refuses a path where `dir` cannot be created or used as a directory (a file in the way), without creating anything. */
export function checkDirectoryPath(dir: string, what: string): void {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    if (fs.existsSync(p)) {
      if (!fs.statSync(p).isDirectory()) {
        throw new FileError(p, `is a file, so it cannot hold ${what}`, 'choose another directory, or move the file out of the way');
      }
      break;
    }
    if (path.dirname(p) === p) break;
  }
}
