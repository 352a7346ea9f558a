import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { readJsonFile, saveModel } from '../../src/io/checkpoint';
import { makeConfig, parseConfig } from '../../src/model/config';
import { t5TokenizerJson } from '../../src/data/tokenizer';
import { runCli } from '../helpers/cli';
import { fixtureCase, fixtureModelDir } from '../helpers/fixtures';
import { randomModel } from '../fusion/helpers';
import { temporaryDir } from '../helpers/tmp';

/** The two numbers of a "max abs error A, relative error R" line. */
function errors(stdout: string): { maxAbs: number; relative: number } {
  const m = /max abs error (\S+), relative error (\S+)$/m.exec(stdout);
  assert.ok(m, stdout);
  return { maxAbs: Number(m[1]), relative: Number(m[2]) };
}

describe('deepfusion fuse / self-fuse / collapse-norms', () => {
  let root: string;
  const dir = (name: string) => path.join(root, name);
  const name = 't5-v10-tiny-tied';
  const fixtureConfig = () => parseConfig(readJsonFile(path.join(fixtureModelDir(name), 'config.json'), 'config'), 'fixture');

  before(async () => {
    await initEngine('cpu');
    root = temporaryDir('df-cli-fusion-');
    // A narrower model that can be fused with the tied fixture.
    await saveModel(dir('narrow'), randomModel(makeConfig({ ...fixtureConfig(), d_model: 10, num_heads: 1, d_ff: 7 }), 3));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('fuse (grouped, weighted) verifies against Σ wᵢ·logitsᵢ and the result runs in forward', () => {
    const r = runCli(['fuse', fixtureModelDir(name), dir('narrow'), '-o', dir('fused'), '--weights', '0.4,0.6',
      '--verify', fixtureCase(name)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /d_model 34 \(24 \+ 10\), 5 heads \(4 \+ 1\), d_ff 55 \(48 \+ 7\), norms grouped \[24, 10\]/);
    const err = errors(r.stdout);
    assert.ok(err.maxAbs < 1e-4 && err.relative < 1e-5, r.stdout);
    const f = runCli(['forward', '--model', dir('fused'), '--case', fixtureCase(name), '--out', dir('out.safetensors')]);
    assert.equal(f.status, 0, f.stderr);
  });

  test('fuse --norm joint writes a plain HF T5 and reports how far it is from the average', () => {
    const r = runCli(['fuse', fixtureModelDir(name), dir('narrow'), '-o', dir('joint'), '--norm', 'joint']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /verify on a random probe batch/);
    assert.ok(errors(r.stdout).relative > 0);
    const json = readJsonFile(path.join(dir('joint'), 'config.json'), 'config') as Record<string, unknown>;
    assert.equal('norm_groups' in json, false);
    assert.equal(json.model_type, 't5');
  });

  test('self-fuse with paired noise keeps the golden fixture\'s logits', () => {
    const r = runCli(['self-fuse', fixtureModelDir(name), '-o', dir('self'), '--copies', '3', '--noise', 'paired:0.02',
      '--seed', '7', '--verify', fixtureCase(name)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /d_model 72 \(3 × 24\)/);
    assert.ok(errors(r.stdout).maxAbs < 1e-4, r.stdout);
  });

  test('collapse-norms drops norm_groups and prints the change', () => {
    const r = runCli(['collapse-norms', dir('fused'), '-o', dir('collapsed'), '--verify', fixtureCase(name)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /collapsed logits vs the grouped model's: max abs error/);
    assert.equal('norm_groups' in (readJsonFile(path.join(dir('collapsed'), 'config.json'), 'c') as object), false);
  });

  test('refusals are one line naming the field or option, exit code 2, nothing written', () => {
    const cases: Array<[string[], RegExp]> = [
      [['fuse', fixtureModelDir(name), fixtureModelDir('t5-v11-tiny'), '-o', dir('x')], /field "vocab_size": is 100 but .* has 120/],
      [['fuse', fixtureModelDir(name), dir('narrow'), '-o', dir('x'), '--weights', '0.5,0.6'], /sum to 1\.1, not 1/],
      [['fuse', fixtureModelDir(name), dir('narrow'), '-o', dir('x'), '--norm', 'both'], /--norm must be one of grouped, joint, got "both"/],
      [['fuse', fixtureModelDir(name), '-o', dir('x')], /two or more model directories/],
      [['fuse', fixtureModelDir(name), dir('narrow')], /--out is required/],
      [['self-fuse', fixtureModelDir(name), '-o', dir('x'), '--noise', 'loud:1'], /--noise must be paired:<std>/],
      [['self-fuse', fixtureModelDir(name), '-o', dir('x'), '--copies', '1'], /--copies must be an integer in \[2, 64\]/],
      [['collapse-norms', fixtureModelDir(name), '-o', dir('x')], /plain T5 already/],
    ];
    for (const [args, pattern] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal(fs.existsSync(dir('x')), false);
  });

  test('an output that would destroy a source or unrelated files is refused unless --force', () => {
    // A run directory's trained model, and a copy to fuse it with.
    const final = dir('run/final');
    fs.mkdirSync(final, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(fixtureModelDir(name), f), path.join(final, f));
    fs.writeFileSync(dir('run/metrics.jsonl'), '{}\n');
    const weights = fs.readFileSync(path.join(final, 'model.safetensors'));
    fs.mkdirSync(dir('papers'));
    fs.writeFileSync(dir('papers/notes.txt'), 'mine');
    fs.writeFileSync(dir('file.txt'), 'mine');
    const cases: Array<[string[], RegExp]> = [
      [['fuse', final, dir('narrow'), '-o', final], /run\/final: is the source .*run\/final: writing it would replace the model being read/],
      [['self-fuse', final, '-o', final], /is the source/],
      [['self-fuse', final, '-o', `${final}/../final`], /is the source/],
      [['fuse', final, dir('narrow'), '-o', dir('run')], /holds the source .*final: replacing it would delete that model/],
      [['collapse-norms', dir('fused'), '-o', dir('fused/inner')], /lies inside the source/],
      [['fuse', final, dir('narrow'), '-o', dir('papers')], /papers: is a non-empty directory that is not a model directory \(it holds notes\.txt\)/],
      [['self-fuse', final, '-o', dir('file.txt')], /file\.txt: is a file, not a directory/],
    ];
    for (const [args, pattern] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /Fix: choose another output directory \(-o\), or add --force to replace it/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(fs.readFileSync(path.join(final, 'model.safetensors')).equals(weights));
    assert.equal(fs.readFileSync(dir('papers/notes.txt'), 'utf8'), 'mine');
    assert.equal(fs.readFileSync(dir('file.txt'), 'utf8'), 'mine');
    assert.ok(fs.existsSync(dir('run/metrics.jsonl')));

    // Forced, through a path that passes through the source itself: the source is replaced by the
    // wider model, complete, with no temporary left beside it.
    const r = runCli(['self-fuse', final, '-o', `${final}/../final`, '--force', '--verify', fixtureCase(name)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^not verified: the output replaced a source$/m);
    assert.equal((readJsonFile(path.join(final, 'config.json'), 'config') as { d_model: number }).d_model, 48);
    assert.deepEqual(fs.readdirSync(dir('run')).sort(), ['final', 'metrics.jsonl']);
  });

  test('-o . is refused (the current directory), and so is a weights file that is a directory or a pipe', () => {
    const here = dir('cwd');
    fs.mkdirSync(here);
    fs.writeFileSync(path.join(here, 'notes.txt'), 'mine');
    const r = runCli(['self-fuse', fixtureModelDir(name), '-o', '.'], {}, { cwd: here });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error: \.: is the current directory or holds it\. Fix: choose another output directory/);

    const odd = dir('odd');
    fs.mkdirSync(path.join(odd, 'model.safetensors'), { recursive: true });
    fs.copyFileSync(path.join(fixtureModelDir(name), 'config.json'), path.join(odd, 'config.json'));
    const info = runCli(['info', odd]);
    assert.equal(info.status, 2, info.stderr);
    assert.match(info.stderr, /model\.safetensors: is a directory, not a file/);
    fs.rmdirSync(path.join(odd, 'model.safetensors'));
    if (spawnSync('mkfifo', [path.join(odd, 'model.safetensors')]).status === 0) {
      // Reading a pipe nobody writes to would block forever.
      const fifo = runCli(['info', odd], {}, { timeoutMs: 60_000 });
      assert.equal(fifo.status, 2, fifo.stderr);
      assert.match(fifo.stderr, /model\.safetensors: is not a regular file/);
    }
  });

  test('a full disk while fusing is one line with the space needed; nothing is left on the disk', (t) => {
    const mount = dir('small-disk');
    fs.mkdirSync(mount);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mount]).status !== 0) {
      t.skip('mounting a small tmpfs needs root');
      return;
    }
    try {
      const r = runCli(['self-fuse', fixtureModelDir(name), '-o', path.join(mount, 'out'), '--copies', '8']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^error: .*small-disk\/out\/model\.safetensors: cannot be written: no space left on the device \(it needs [\d.]+ [KM]iB, [\d.]+ KiB are free; ENOSPC\)\. Fix: free at least/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(fs.readdirSync(mount), []);
    } finally {
      spawnSync('umount', [mount]);
    }
  });

  test('--verify on text tokenizes lines with the sources\' tokenizer.json, which travels with the result', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.split('').map((c): [string, number] => [c, -3]);
    fs.mkdirSync(dir('with-tokenizer'));
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(fixtureModelDir(name), f), path.join(dir('with-tokenizer'), f));
    fs.writeFileSync(path.join(dir('with-tokenizer'), 'tokenizer.json'), t5TokenizerJson([['\u2581', -2], ...letters], 10));
    fs.writeFileSync(dir('lines.txt'), 'the quick brown fox\n\njumps over the lazy dog\n');
    const r = runCli(['self-fuse', dir('with-tokenizer'), '-o', dir('self-text'), '--verify', dir('lines.txt')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /verify on .*lines\.txt \(2 lines\)/);
    assert.ok(errors(r.stdout).maxAbs < 1e-4, r.stdout);
    assert.ok(fs.existsSync(path.join(dir('self-text'), 'tokenizer.json')));

    const none = runCli(['self-fuse', fixtureModelDir(name), '-o', dir('y'), '--verify', dir('lines.txt')]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /has no tokenizer\.json to tokenize .*lines\.txt with/);
  });

  test('--help explains each command', () => {
    for (const command of ['fuse', 'self-fuse', 'collapse-norms']) {
      const r = runCli([command, '--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^Usage: deepfusion ${command} `));
      assert.match(r.stdout, /--verify/);
    }
  });
});
