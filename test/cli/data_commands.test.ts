import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { corpusCommand } from '../../src/cli/commands/corpus';
import { tokenizerCommand } from '../../src/cli/commands/tokenizer';
import { UserError } from '../../src/errors';
import { loadTokenizer } from '../../src/training/data/tokenizer';
import { temporaryDir, writeChapterDir } from '../helpers/corpus';

/** Runs a command and returns what it printed (stdout and stderr lines). */
async function run(command: { run(argv: string[]): Promise<void> }, argv: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  console.error = console.log;
  try {
    await command.run(argv);
  } finally {
    console.log = log;
    console.error = error;
  }
  return lines.join('\n');
}

describe('deepfusion corpus / tokenizer', () => {
  const dir = writeChapterDir(4);

  test('corpus info prints documents, characters and words per split', async () => {
    const out = await run(corpusCommand, ['info', '--corpus', dir]);
    assert.match(out, /^corpus {6}.+$/m);
    for (const row of ['all', 'train', 'validation']) assert.match(out, new RegExp(`^${row} +\\d+ documents +[\\d.]+K characters +[\\d.]+K words`, 'm'));
    await assert.rejects(run(corpusCommand, ['stats']), UserError);
  });

  test('tokenizer train writes a loadable tokenizer.json and reports progress, vocab and tokens per word', async () => {
    process.env.DEEPFUSION_CACHE = temporaryDir();
    const out = path.join(temporaryDir(), 'tok', 'tokenizer.json');
    const printed = await run(tokenizerCommand, ['train', '--corpus', dir, '--vocab', '300', '-o', out]);
    assert.match(printed, /round +1: +\d+ pieces/);
    assert.match(printed, /vocab +300 ids: <pad> 0, <\/s> 1, <unk> 2, 197 pieces, 100 sentinels \(<extra_id_0> = 299\)/);
    assert.match(printed, /validation +[\d.]+ tokens per word/);
    assert.equal(loadTokenizer(out).vocabSize, 300);
    const again = await run(tokenizerCommand, ['train', '--corpus', dir, '--vocab', '300', '-o', out]);
    assert.match(again, /training +found in the cache/);
    const encoded = await run(tokenizerCommand, ['encode', out, 'Call me  Ishmael.']);
    assert.match(encoded, /^ids +\d+( \d+)*$/m);
    assert.match(encoded, /^decoded "Call me Ishmael\."$/m);
    await assert.rejects(run(tokenizerCommand, ['train', '--vocab', 'many', '-o', out]), /--vocab must be an integer/);
    await assert.rejects(run(tokenizerCommand, ['fit']), /unknown subcommand "fit"/);
    assert.ok(fs.existsSync(out));
  });
});
