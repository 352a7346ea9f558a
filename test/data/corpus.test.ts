import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, FileError } from '../../src/errors';
import { corpusStats, splitDocuments, VALIDATION_FRACTION, type CorpusDocument } from '../../src/data/corpus';
import { defaultCorpus } from '../../src/data/corpus_default';
import { fileCorpus } from '../../src/data/corpus_files';
import { openCorpus } from '../../src/data/corpus_open';
import { normalizeText } from '../../src/data/normalize';
import { mobyDickChapters, writeChapterDir } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

const docs = (n: number, prefix = 'doc'): CorpusDocument[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}/${i}`, text: `text ${i}` }));

function write(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

/** Asserts that `fn` throws a user error of `kind` whose message names `where` and matches `problem`. */
function assertRefused(fn: () => unknown, kind: typeof FileError | typeof ConfigError, where: string, problem: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof kind, `${err.name}: ${err.message}`);
    assert.ok(err.message.includes(where), `"${err.message}" should name ${where}`);
    assert.match(err.message, problem);
    assert.match(err.message, /Fix: /);
    return true;
  });
}

describe('validation split', () => {
  test('holds out about VALIDATION_FRACTION of documents, chosen by id alone', () => {
    const all = docs(4000);
    const { train, validation } = splitDocuments(all);
    assert.equal(train.length + validation.length, all.length);
    assert.ok(Math.abs(validation.length / all.length - VALIDATION_FRACTION) < 0.015, `${validation.length}`);
    // Independent of the other documents and of their order: a subset splits the same way.
    const subset = splitDocuments(all.slice(1000, 2000).reverse());
    const held = new Set(validation.map((d) => d.id));
    for (const d of subset.validation) assert.ok(held.has(d.id));
    for (const d of subset.train) assert.ok(!held.has(d.id));
  });

  test('a corpus of two or more documents always holds one out; a single document stays in train', () => {
    for (let n = 2; n < 30; n++) assert.ok(splitDocuments(docs(n, `small${n}`)).validation.length >= 1);
    assert.deepEqual(splitDocuments(docs(1)).validation, []);
  });
});

describe('default corpus', () => {
  test('has a fingerprint before loading, and loads SOTU, Moby Dick and WordNet documents', () => {
    const corpus = openCorpus('default');
    assert.equal(corpus.source, 'default');
    assert.equal(corpus.fingerprint, defaultCorpus().fingerprint);
    const documents = corpus.documents();
    assert.equal(corpus.documents(), documents, 'documents are built once');
    const stats = corpusStats(documents);
    assert.ok(stats.characters > 20e6 && stats.documents > 3000, JSON.stringify(stats));
    assert.equal(new Set(documents.map((d) => d.id)).size, documents.length, 'ids are unique');
    for (const prefix of ['sotu/', 'moby-dick/', 'wordnet/']) assert.ok(documents.some((d) => d.id.startsWith(prefix)), prefix);
    assert.ok(documents.every((d) => d.text.length > 0 && d.text === normalizeText(d.text)));
    assert.ok(documents.some((d) => d.id === 'moby-dick/chapter-1' && d.text.startsWith('Chapter 1. Loomings. Call me Ishmael.')));
    assert.ok(documents.some((d) => d.id.startsWith('wordnet/noun#') && d.text.includes('entity: that which is perceived')));
    const { validation } = splitDocuments(documents);
    assert.ok(validation.some((d) => d.id.startsWith('sotu/')) && validation.some((d) => d.id.startsWith('moby-dick/')));
  });
});

describe('user corpora', () => {
  test('a text file is cut into documents at paragraph boundaries and normalised', () => {
    const dir = temporaryDir();
    const text = mobyDickChapters(3).join('\n\n');
    const corpus = fileCorpus(write(dir, 'moby.txt', text));
    const documents = corpus.documents();
    assert.ok(documents.length > 3);
    assert.ok(documents.every((d, i) => d.id === `moby.txt#${i}`));
    assert.equal(documents.map((d) => d.text).join(' '), normalizeText(text));
  });

  test('a directory is searched recursively for .txt/.text/.md/.jsonl files; hidden and other files are skipped', () => {
    const dir = temporaryDir();
    write(dir, 'b.txt', 'Bee.');
    write(dir, 'sub/a.md', 'Ay.');
    write(dir, 'sub/deeper/c.jsonl', '{"text": "See."}\n\n{"text": "Sea.", "other": 1}\n');
    write(dir, 'image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
    write(dir, '.hidden.txt', 'secret');
    write(dir, '.git/x.txt', 'secret');
    const documents = fileCorpus(dir).documents();
    assert.deepEqual(documents.map((d) => [d.id, d.text]), [
      ['b.txt#0', 'Bee.'], ['sub/a.md#0', 'Ay.'], ['sub/deeper/c.jsonl:1', 'See.'], ['sub/deeper/c.jsonl:3', 'Sea.']]);
  });

  test('the fingerprint follows the content', () => {
    const dir = temporaryDir();
    const file = write(dir, 'a.txt', 'one');
    const first = fileCorpus(file).fingerprint;
    assert.equal(fileCorpus(file).fingerprint, first);
    write(dir, 'a.txt', 'two');
    assert.notEqual(fileCorpus(file).fingerprint, first);
    assert.notEqual(fileCorpus(dir).fingerprint, first);
  });

  test('a directory of chapters loads every chapter', () => {
    const documents = fileCorpus(writeChapterDir(4)).documents();
    assert.deepEqual([...new Set(documents.map((d) => d.id.split('#')[0]))],
      ['chapter-001.txt', 'chapter-002.txt', 'chapter-003.txt', 'chapter-004.txt']);
  });
});

describe('refusals name the file, the problem and the fix', () => {
  const dir = temporaryDir();

  test('missing path', () => {
    assertRefused(() => fileCorpus(path.join(dir, 'nope.txt')), FileError, 'nope.txt', /does not exist/);
  });

  test('empty file, whitespace-only file', () => {
    assertRefused(() => fileCorpus(write(dir, 'empty.txt', '')), FileError, 'empty.txt', /is empty/);
    const blank = fileCorpus(write(dir, 'blank.txt', ' \n\n\t \n'));
    assertRefused(() => blank.documents(), FileError, 'blank.txt', /only whitespace/);
  });

  test('binary file: NUL bytes or invalid UTF-8', () => {
    assertRefused(() => fileCorpus(write(dir, 'data.txt', Buffer.from([72, 105, 0, 1, 2]))), FileError, 'data.txt', /binary.*offset 2/);
    assertRefused(() => fileCorpus(write(dir, 'latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9]))), FileError, 'latin1.txt', /not valid UTF-8/);
  });

  test('unreadable file in a directory (a dangling link)', () => {
    const sub = path.join(dir, 'with-link');
    fs.mkdirSync(sub);
    write(sub, 'ok.txt', 'fine');
    fs.symlinkSync(path.join(sub, 'gone'), path.join(sub, 'broken.txt'));
    assertRefused(() => fileCorpus(sub), FileError, 'broken.txt', /is a symbolic link to .*gone, which does not exist \(ENOENT\)/);
  });

  test('directory without text files', () => {
    const sub = path.join(dir, 'pictures');
    write(sub, 'a.png', 'x');
    assertRefused(() => fileCorpus(sub), FileError, 'pictures', /no \.txt, \.text, \.md or \.jsonl files/);
  });

  test('JSONL: invalid JSON, not an object, missing or non-string "text" — with the line number', () => {
    assertRefused(() => fileCorpus(write(dir, 'bad.jsonl', '{"text": "ok"}\n{"text": oops}\n')).documents(), FileError, 'bad.jsonl', /line 2 is not valid JSON/);
    assertRefused(() => fileCorpus(write(dir, 'list.jsonl', '["text"]\n')).documents(), FileError, 'list.jsonl', /line 1 is not a JSON object/);
    assertRefused(() => fileCorpus(write(dir, 'missing.jsonl', '{"text": "a"}\n\n{"body": "b"}\n')).documents(),
      ConfigError, 'missing.jsonl line 3: field "text"', /is missing/);
    assertRefused(() => fileCorpus(write(dir, 'number.jsonl', '{"text": 5}\n')).documents(), ConfigError, 'number.jsonl line 1: field "text"', /is a number, not a string/);
    assertRefused(() => fileCorpus(write(dir, 'blank.jsonl', '{"text": "  "}\n')).documents(), FileError, 'blank.jsonl', /no record with a non-empty "text"/);
  });
});
