// The layering of src/ as the README's layout table states it (bottom row first): a file imports
// only from its own layer or the layers below it, no files import each other in a circle, and
// every folder of src/ is in the table.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');

/** The layers, bottom to top: the `src/...` names of each row of the README's layout table. */
function readmeLayers(): string[][] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Layout\n'));
  assert.ok(section, 'README.md has no "## Layout" section');
  return section.split('\n').filter((l) => l.startsWith('| `src/'))
    .map((row) => [...row.split('|')[1].matchAll(/`src\/([^`]+)`/g)].map((m) => m[1]));
}

const LAYERS = readmeLayers();

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): number {
  const rel = path.relative(SRC, file).split(path.sep)[0];
  const i = LAYERS.findIndex((names) => names.includes(rel));
  assert.ok(i >= 0, `${path.relative(ROOT, file)} is in no layer: add its folder to the README's layout table`);
  return i;
}

/** The addon's interface table (native/ops.js) sits below every layer: src/engine reads it. */
const BELOW_SRC = [path.join(ROOT, 'native', 'ops.js')];

/** Project files under src/ a file imports (relative imports, resolved to .ts files). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/\brequire\('(\.[^']+)'\)/g)]
    .map((m) => m[1]);
  return specs.flatMap((spec) => {
    const base = path.resolve(path.dirname(file), spec);
    if (BELOW_SRC.includes(`${base}.js`)) return [];
    const candidates = [`${base}.ts`, path.join(base, 'index.ts')];
    const found = candidates.find((c) => fs.existsSync(c));
    assert.ok(found, `${path.relative(ROOT, file)} imports ${spec}, which resolves to no .ts file under src/`);
    return [found];
  });
}

describe('architecture', () => {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  test('every import points to the same layer or one below', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const imported of imports) {
        if (layerOf(imported) > layerOf(file)) upward.push(`${path.relative(SRC, file)} → ${path.relative(SRC, imported)}`);
      }
    }
    assert.deepEqual(upward, []);
  });

  test('no import circles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    assert.deepEqual(circles, []);
  });

  test("the README's layout table names every folder of src/ once", () => {
    const named = LAYERS.flat();
    assert.deepEqual([...named].sort(), fs.readdirSync(SRC).sort());
    assert.equal(new Set(named).size, named.length);
  });

  test('the checker sees an upward import and a circle when there is one', () => {
    assert.ok(layerOf(path.join(SRC, 'cli', 'main.ts')) > layerOf(path.join(SRC, 'engine', 'tf.ts')));
    assert.ok(importsOf(path.join(SRC, 'cli', 'main.ts')).some((f) => f.endsWith(path.join('engine', 'index.ts'))));
  });
});
