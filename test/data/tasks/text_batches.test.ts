import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  glueTasks, gridValues, mixtureQuotas, prepareTask, taskTrainData, tokenizeTask, valueText, type TokenizedTask,
} from '../../../src/data/tasks';
import type { T5Tokenizer } from '../../../src/data/tokenizer';
import type { ExampleBatch } from '../../../src/data/types';
import { ConfigError } from '../../../src/errors';
import { smallCorpusAndTokenizer } from '../../helpers/corpus';
import { temporaryDir } from '../../helpers/tmp';
import { numbersTokenizer } from '../../helpers/tiny_model';
import { writeGlueDir } from '../../helpers/glue';

const CAPS = { train_cap: 1000, validation_cap: 1000, test_cap: 1000 };
let tokenizer: T5Tokenizer;
let sst: TokenizedTask;
let stsb: TokenizedTask;
let rte: TokenizedTask;

/** Rows of a batch as [input ids, target ids] without padding. */
function rowsOf(b: ExampleBatch): Array<[number[], number[]]> {
  return Array.from({ length: b.batchSize }, (_, r) => [
    Array.from(b.inputIds.subarray(r * b.inputLength, (r + 1) * b.inputLength)).filter((_, i) => b.attentionMask[r * b.inputLength + i] === 1),
    Array.from(b.labels.subarray(r * b.targetLength, (r + 1) * b.targetLength)).filter((l) => l !== -100),
  ]);
}

describe('text-to-text batches', () => {
  before(async () => {
    tokenizer = numbersTokenizer();
    const dir = writeGlueDir({ train: 50, dev: 10, folders: ['SST-2', 'STS-B', 'RTE'] });
    const cache = temporaryDir();
    // glueTasks lists them in GLUE's order: sst2, stsb, rte.
    [sst, stsb, rte] = await Promise.all(glueTasks(dir).map((task) => tokenizeTask(prepareTask(task, CAPS, cache), tokenizer, 24)));
  });

  test('inputs are cut to the input length and end with EOS; targets are the gold label\'s candidate', async () => {
    for (const task of [sst, stsb, rte]) {
      assert.ok(task.inputLength <= 24 && task.inputLength % 8 === 0, `${task.info.name}: input length ${task.inputLength}`);
      for (const [i, input] of task.train.inputs.entries()) {
        assert.equal(input.at(-1), tokenizer.eosId);
        assert.ok(input.length <= task.inputLength);
        const c = task.candidateValues.indexOf(task.info.kind === 'regression' ? Number(valueText(task.train.labels[i], task.info.grid!)) : task.train.labels[i]);
        assert.deepEqual(task.train.targets[i], task.candidates[c]);
      }
    }
    assert.ok(rte.train.inputs.some((x) => x.length === 24), 'two-sentence inputs are cut at 24 tokens');
    assert.deepEqual(sst.candidateTexts, ['negative', 'positive']);
    assert.deepEqual(sst.candidates[1], [...await tokenizer.encode('positive'), tokenizer.eosId]);
    assert.equal(sst.targetLength, Math.max(...sst.candidates.map((c) => c.length)));
  });

  test('regression targets are written on the grid as T5 writes STS-B (rounded to 0.2, one decimal)', () => {
    assert.equal(stsb.candidates.length, 26);
    assert.deepEqual(stsb.candidateTexts.slice(0, 3), ['0.0', '0.2', '0.4']);
    assert.equal(valueText(3.77, stsb.info.grid!), '3.8');
    assert.equal(valueText(5.3, stsb.info.grid!), '5.0');
    assert.deepEqual(gridValues({ min: -5, max: 5, step: 1, decimals: 0 }), [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]);
    assert.equal(valueText(-2, { min: -5, max: 5, step: 1, decimals: 0 }), '-2');
  });

  test('a tokenizer that writes two answers alike is refused, naming them', async () => {
    // The Moby Dick tokenizer has no "0", "4" or "5": "0.0" and "0.4" would be the same tokens.
    const plain = smallCorpusAndTokenizer().tokenizer;
    const [task] = glueTasks(writeGlueDir({ train: 20, dev: 5, folders: ['STS-B'] }));
    await assert.rejects(tokenizeTask(prepareTask(task, CAPS, temporaryDir()), plain, 24),
      (e: Error) => /task stsb: the tokenizer writes the answers "0.0" and "0.4" as the same tokens/.test(e.message) && /Fix:/.test(e.message));
  });

  test('the stream is deterministic, resumes exactly from a position, and refuses a position of other data', async () => {
    const data = taskTrainData({ tasks: [sst], quotas: mixtureQuotas([sst]), batchSize: 8, seed: 3, padId: tokenizer.padId });
    const a = await data.open();
    const first = Array.from({ length: 10 }, () => a.next());
    const b = await data.open();
    for (let i = 0; i < 4; i++) b.next();
    const resumed = await data.open(b.position());
    assert.deepEqual(Array.from({ length: 6 }, () => resumed.next()), first.slice(4));
    // One epoch of a single task is every training example once.
    const seen = first.slice(0, Math.floor(sst.train.inputs.length / 8)).flatMap(rowsOf).map(([x]) => x.join(','));
    assert.equal(new Set(seen).size, seen.length, 'no example twice within an epoch');
    const other = taskTrainData({ tasks: [sst], quotas: mixtureQuotas([sst]), batchSize: 8, seed: 4, padId: tokenizer.padId });
    assert.throws(() => other.open(b.position()), (e: Error) => e instanceof ConfigError && /seed/.test(e.message));
    const mixed = taskTrainData({ tasks: [sst, rte], quotas: mixtureQuotas([sst, rte]), batchSize: 8, seed: 3, padId: tokenizer.padId });
    assert.throws(() => mixed.open(b.position()), (e: Error) => e instanceof ConfigError && /other tasks/.test(e.message));
  });

  test('the mixture gives each task its capped share of every epoch, with its prefix, in batches of the longest shape', async () => {
    const quotas = mixtureQuotas([sst, stsb, rte], 20);
    assert.deepEqual(quotas, [20, 20, 20]);
    const stream = await taskTrainData({ tasks: [sst, stsb, rte], quotas, batchSize: 6, seed: 1, padId: tokenizer.padId }).open();
    const batches = Array.from({ length: 10 }, () => stream.next());
    assert.ok(batches.every((b) => b.inputLength === Math.max(sst.inputLength, stsb.inputLength, rte.inputLength) && b.targetLength === Math.max(sst.targetLength, stsb.targetLength, rte.targetLength)));
    const byTask = { sst: 0, stsb: 0, rte: 0 };
    const first = { sst: await tokenizer.encode('sst2 sentence:'), stsb: await tokenizer.encode('stsb sentence1:'), rte: await tokenizer.encode('rte sentence1:') };
    for (const [input] of batches.flatMap(rowsOf)) {
      const name = (Object.keys(first) as Array<keyof typeof first>).find((k) => first[k].every((id, i) => input[i] === id));
      assert.ok(name, 'every input starts with its task prefix');
      byTask[name]++;
    }
    assert.deepEqual(byTask, { sst: 20, stsb: 20, rte: 20 }, 'one mixture epoch of 60 examples: 20 of each');
    assert.deepEqual(mixtureQuotas([sst, stsb], 1e9), [sst.train.inputs.length, stsb.train.inputs.length], 'below the cap, the training sizes');
  });
});
