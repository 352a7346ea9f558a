import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { metricsColumns } from '../../src/serve/metrics';
import { RunsRoot } from '../../src/serve/paths';
import { LineTail } from '../../src/serve/tail';
import { temporaryDir } from '../helpers/tmp';

function setup(): { root: RunsRoot; file: string; tail: LineTail } {
  const dir = temporaryDir();
  const root = new RunsRoot(dir);
  const file = path.join(root.real, 'metrics.jsonl');
  return { root, file, tail: new LineTail(root, file) };
}

describe('following a growing file', () => {
  test('returns only complete lines, each once; a half-written line waits for its newline', () => {
    const { file, tail } = setup();
    assert.deepEqual(tail.read(), { lines: [], reset: false }, 'no file yet');
    fs.writeFileSync(file, 'one\ntwo\nthr');
    assert.deepEqual(tail.read(), { lines: ['one', 'two'], reset: false });
    assert.deepEqual(tail.read(), { lines: [], reset: false });
    fs.appendFileSync(file, 'ee\nfour\n');
    assert.deepEqual(tail.read(), { lines: ['three', 'four'], reset: false });
    assert.equal(tail.position, fs.statSync(file).size);
  });

  test('a multi-byte character split across two writes arrives whole', () => {
    const { file, tail } = setup();
    const text = Buffer.from('loss → 1\n', 'utf8');
    const cut = text.indexOf(0x86); // inside the arrow's three bytes
    fs.writeFileSync(file, text.subarray(0, cut));
    assert.deepEqual(tail.read().lines, []);
    fs.appendFileSync(file, text.subarray(cut));
    assert.deepEqual(tail.read().lines, ['loss → 1']);
  });

  test('a file cut shorter (a resumed run), replaced, or rewritten past the offset starts over with reset', () => {
    const { file, tail } = setup();
    fs.writeFileSync(file, 'a\nb\nc\n');
    tail.read();
    fs.truncateSync(file, 2);
    fs.appendFileSync(file, 'x\n');
    assert.deepEqual(tail.read(), { lines: ['a', 'x'], reset: true });
    // Replaced by a new file (a new inode), even one that is longer.
    const tmp = `${file}.new`;
    fs.writeFileSync(tmp, 'p\nq\nr\ns\n');
    fs.renameSync(tmp, file);
    assert.deepEqual(tail.read(), { lines: ['p', 'q', 'r', 's'], reset: true });
    // Rewritten in place and grown past our offset: the bytes before it changed.
    fs.writeFileSync(file, 'P\nQ\nR\nS\nT\n');
    assert.deepEqual(tail.read(), { lines: ['P', 'Q', 'R', 'S', 'T'], reset: true });
  });

  test('reads a large file in bounded chunks, and drops a runaway line without a newline', () => {
    const dir = temporaryDir();
    const root = new RunsRoot(dir);
    const file = path.join(root.real, 'big.jsonl');
    fs.writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const tail = new LineTail(root, file, 1024, 4096);
    const seen: string[] = [];
    for (let i = 0; i < 100; i++) seen.push(...tail.read().lines);
    assert.equal(seen.length, 1000);
    assert.equal(seen[999], 'line 999');
    fs.appendFileSync(file, 'x'.repeat(10_000));
    for (let i = 0; i < 20; i++) tail.read();
    fs.appendFileSync(file, 'tail of the runaway line\nafter\n');
    const rest: string[] = [];
    for (let i = 0; i < 5; i++) rest.push(...tail.read().lines);
    assert.equal(rest.at(-1), 'after', 'the tail recovers at the next newline');
    assert.ok(!rest.some((l) => l.length > 4096));
  });

  test('skipToTail starts at a line boundary near the end (the last part of a long log)', () => {
    const { file, tail } = setup();
    fs.writeFileSync(file, Array.from({ length: 100 }, (_, i) => `log line ${String(i).padStart(3, '0')}`).join('\n') + '\n');
    tail.skipToTail(50);
    const lines = tail.read().lines;
    assert.ok(lines.length >= 2 && lines.length <= 4, String(lines.length));
    assert.equal(lines.at(-1), 'log line 099');
    assert.match(lines[0], /^log line \d{3}$/);
  });

  test('a symlink to a file outside the root is not read', () => {
    const { root } = setup();
    const outside = path.join(temporaryDir(), 'secret.jsonl');
    fs.writeFileSync(outside, '{"type":"train","step":1}\n');
    const link = path.join(root.real, 'link.jsonl');
    fs.symlinkSync(outside, link);
    assert.deepEqual(new LineTail(root, link).read(), { lines: [], reset: false });
  });
});

describe('metrics lines as columns', () => {
  test('numeric fields by record type; a field missing from a record is null there', () => {
    const cols = metricsColumns([
      '{"type":"eval","step":0,"val_loss":9,"val_accuracy":0}',
      '{"type":"train","step":1,"loss":9.5,"lr":0.01}',
      '{"type":"train","step":2,"loss":9.1,"lr":0.01,"grad_norm":2}',
      '{"type":"eval","step":2,"val_loss":8,"val_accuracy":0.1,"rouge":0.3}',
    ]);
    assert.equal(cols.skipped, 0);
    assert.deepEqual(cols.types.train, { step: [1, 2], loss: [9.5, 9.1], lr: [0.01, 0.01], grad_norm: [null, 2] });
    assert.deepEqual(cols.types.eval, { step: [0, 2], val_loss: [9, 8], val_accuracy: [0, 0.1], rouge: [null, 0.3] });
  });

  test('damaged lines are skipped and counted, never thrown', () => {
    const cols = metricsColumns([
      '{"type":"train","step":1,"loss":2}', '{"type":"train","step":', 'garbage', '[1,2,3]', 'null', '"text"',
      '{"step":3,"loss":1}', '{"type":"train","loss":1}', '{"type":"train","step":"4"}', '{"type":"<script>","step":5}', '',
      '{"type":"train","step":6,"loss":"NaN","lr":1e400}',
    ]);
    assert.equal(cols.skipped, 9);
    assert.deepEqual(cols.types.train, { step: [1, 6], loss: [2, null] });
  });

  test('keeps only the fields asked for, per record type', () => {
    const cols = metricsColumns(['{"type":"train","step":1,"loss":2,"lr":0.1}', '{"type":"eval","step":1,"val_loss":3}'], { train: ['step', 'loss'] });
    assert.deepEqual(cols.types, { train: { step: [1], loss: [2] }, eval: { step: [1], val_loss: [3] } });
  });
});
