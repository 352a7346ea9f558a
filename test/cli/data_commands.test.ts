import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { loadTokenizer } from '../../src/data/tokenizer';
import { runCli } from '../helpers/cli';
import { writeChapterDir } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

describe('deepfusion corpus / tokenizer', () => {
  const dir = writeChapterDir(4);
  const env = { DEEPFUSION_CACHE: temporaryDir() };

  test('corpus info prints documents, characters and words per split', () => {
    const r = runCli(['corpus', 'info', '--corpus', dir], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^corpus {6}.+$/m);
    for (const row of ['all', 'train', 'validation']) {
      assert.match(r.stdout, new RegExp(`^${row} +\\d+ documents +[\\d.]+K characters +[\\d.]+K words`, 'm'));
    }
    const bad = runCli(['corpus', 'info', '--corpus', path.join(dir, 'none.txt')], env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^error: .*none\.txt: does not exist\. Fix: /);
  });

  test('tokenizer train writes a loadable tokenizer.json and reports progress, vocab and tokens per word', () => {
    const out = path.join(temporaryDir(), 'tok', 'tokenizer.json');
    const r = runCli(['tokenizer', 'train', '--corpus', dir, '--vocab', '300', '-o', out], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /round +1: +\d+ pieces/);
    assert.match(r.stdout, /vocab +300 ids: <pad> 0, <\/s> 1, <unk> 2, 197 pieces, 100 sentinels \(<extra_id_0> = 299\)/);
    assert.match(r.stdout, /validation +[\d.]+ tokens per word/);
    assert.equal(loadTokenizer(out).vocabSize, 300);
    const again = runCli(['tokenizer', 'train', '--corpus', dir, '--vocab', '300', '-o', out], env);
    assert.match(again.stdout, /training +found in the cache/);
    assert.ok(fs.existsSync(out));
  });

  test('tokenizer train on a corpus of one document says there is no validation split to measure', () => {
    const one = path.join(temporaryDir(), 'one.txt');
    fs.writeFileSync(one, 'the quick brown fox jumps over the lazy dog again and again\n');
    const r = runCli(['tokenizer', 'train', '--corpus', one, '--vocab', '130', '-o', path.join(temporaryDir(), 't.json')], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^validation +none \(the corpus has no validation documents\)$/m);
    assert.doesNotMatch(r.stdout, /NaN/);
  });

  test('tokenizer encode shows ids, pieces and the normalised decoded text', () => {
    const out = path.join(temporaryDir(), 'tokenizer.json');
    assert.equal(runCli(['tokenizer', 'train', '--corpus', dir, '--vocab', '300', '-o', out], env).status, 0);
    const r = runCli(['tokenizer', 'encode', out, 'Call me  Ishmael.'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ids +\d+( \d+)*$/m);
    assert.match(r.stdout, /^decoded "Call me Ishmael\."$/m);
  });

  test('bad options and subcommands are refused with exit code 2 and a pointer to --help', () => {
    for (const [args, message] of [
      [['tokenizer', 'train', '--vocab', 'many', '-o', 'x.json'], /--vocab must be an integer/],
      [['tokenizer', 'fit'], /unknown subcommand "fit"/],
      [['corpus', 'stats'], /the only subcommand is "info"/],
    ] as const) {
      const r = runCli([...args], env);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    assert.match(runCli(['tokenizer', 'train', '--help']).stdout, /Trains a SentencePiece-style unigram tokenizer/);
  });
});
