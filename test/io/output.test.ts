import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { resolvedPath, writeDirAtomic } from '../../src/io/atomic';
import { checkOutputDir, outputHazard } from '../../src/io/output';
import { FileError } from '../../src/errors';
import { temporaryDir } from '../helpers/tmp';

/** A directory that looks like a model directory (config.json and weights). */
function modelDir(dir: string, marker = 'a'): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `{"marker": "${marker}"}`);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), marker);
  return dir;
}

describe('output directories', () => {
  test('an output that is, holds or lies inside a source is refused, naming the source', () => {
    const root = temporaryDir();
    const a = modelDir(path.join(root, 'runs', 'a', 'final'));
    const b = modelDir(path.join(root, 'b'));
    assert.match(outputHazard(a, [a, b]) ?? '', /is the source .*final: writing it would replace the model being read/);
    assert.match(outputHazard(path.join(a, '..', 'final'), [a]) ?? '', /is the source/);
    assert.match(outputHazard(`${a}/`, [a]) ?? '', /is the source/);
    assert.match(outputHazard(path.join(root, 'runs'), [b, a]) ?? '', /holds the source .*final: replacing it would delete that model/);
    assert.match(outputHazard(path.join(a, 'sub'), [a]) ?? '', /lies inside the source/);
    // Through a symbolic link to the source.
    fs.symlinkSync(a, path.join(root, 'link'));
    assert.match(outputHazard(path.join(root, 'link'), [a]) ?? '', /is the source/);
    assert.equal(outputHazard(path.join(root, 'new'), [a, b]), null);
  });

  test('a file, a non-empty directory that is not a model, and the current directory are refused; a model directory is not', () => {
    const root = temporaryDir();
    fs.writeFileSync(path.join(root, 'notes.txt'), 'mine');
    assert.match(outputHazard(path.join(root, 'notes.txt'), []) ?? '', /is a file, not a directory/);
    fs.mkdirSync(path.join(root, 'mixed'));
    for (const f of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) fs.writeFileSync(path.join(root, 'mixed', f), f);
    assert.match(outputHazard(path.join(root, 'mixed'), []) ?? '',
      /is a non-empty directory that is not a model directory \(it holds a\.txt, b\.txt, c\.txt, … \(4 entries\)\)/);
    assert.match(outputHazard(process.cwd(), []) ?? '', /is the current directory or holds it/);
    assert.equal(outputHazard(modelDir(path.join(root, 'old-model')), []), null);
    fs.mkdirSync(path.join(root, 'empty'));
    assert.equal(outputHazard(path.join(root, 'empty'), []), null);
  });

  test('checkOutputDir throws a FileError with the fix, unless forced', () => {
    const root = temporaryDir();
    const a = modelDir(path.join(root, 'a'));
    assert.throws(() => checkOutputDir(a, [a], false),
      (err: unknown) => err instanceof FileError && /Fix: choose another output directory \(-o\), or add --force/.test(err.message));
    assert.doesNotThrow(() => checkOutputDir(a, [a], true));
  });
});

describe('atomic directory writes', () => {
  test('a target written through x/../x replaces x (no stray temporaries, the new content in place)', async () => {
    const root = temporaryDir();
    const x = modelDir(path.join(root, 'x'), 'old');
    await writeDirAtomic(path.join(x, '..', 'x'), (tmp) => { modelDir(tmp, 'new'); });
    assert.equal(fs.readFileSync(path.join(x, 'model.safetensors'), 'utf8'), 'new');
    assert.deepEqual(fs.readdirSync(root), ['x']);
  });

  test('when the new directory cannot be moved into place, the old one is put back', async () => {
    const root = temporaryDir();
    const x = modelDir(path.join(root, 'x'), 'old');
    // Removing the temporary directory makes the final rename fail (ENOENT).
    await assert.rejects(writeDirAtomic(x, (tmp) => { fs.rmSync(tmp, { recursive: true }); }), /ENOENT/);
    assert.equal(fs.readFileSync(path.join(x, 'model.safetensors'), 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(root), ['x']);
  });

  test('resolvedPath removes .. and resolves links of the parents, not of the last component', () => {
    const root = fs.realpathSync(temporaryDir());
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'via'));
    assert.equal(resolvedPath(path.join(root, 'via', 'out')), path.join(root, 'real', 'out'));
    assert.equal(resolvedPath(path.join(root, 'real', '..', 'via')), path.join(root, 'via'));
    assert.equal(resolvedPath(path.join(root, 'missing', 'deeper', 'out')), path.join(root, 'missing', 'deeper', 'out'));
  });
});
