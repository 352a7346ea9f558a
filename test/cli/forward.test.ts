import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensors } from '../../src/io/safetensors';
import { runCli } from '../helpers/cli';
import { assertClose } from '../helpers/compare';
import { fixtureCase, fixtureExpected, fixtureModelDir } from '../helpers/fixtures';
import { temporaryDir } from '../helpers/tmp';

test('deepfusion forward --grads reproduces the reference outputs under the fixtures\' names', () => {
  const out = path.join(temporaryDir('df-cli-'), 'out.safetensors');
  const name = 't5-uneven-long';
  const r = runCli(['forward', '--model', fixtureModelDir(name), '--case', fixtureCase(name), '--out', out, '--grads']);
  assert.equal(r.status, 0, r.stderr);
  const ours = readSafetensors(out);
  const ref = readSafetensors(fixtureExpected(name));
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort());
  for (const [key, t] of ref) assertClose(ours.get(key)!.data, t.data, key.startsWith('grad.') ? 1e-4 : 1e-5, key);
});

test('deepfusion info describes a model', () => {
  const r = runCli(['info', fixtureModelDir('t5-v11-tiny')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /parameters 56\.2K \(56192\)/);
  assert.match(r.stdout, /lm_head/);
});

test('bad input gives one line naming the file and the fix, exit code 2', () => {
  const dir = temporaryDir('df-bad-');
  fs.writeFileSync(path.join(dir, 'config.json'), '{"d_model": 8,');
  const r = runCli(['info', dir]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: .*config\.json: is not valid JSON .*Fix: repair the JSON/);
  assert.equal(r.stderr.trim().split('\n').length, 1);

  const badCase = path.join(dir, 'case.json');
  fs.writeFileSync(badCase, JSON.stringify({ input_ids: [[1, 2, 500]], labels: [[1]] }));
  const f = runCli(['forward', '--model', fixtureModelDir('t5-v11-tiny'), '--case', badCase, '--out', path.join(dir, 'o.safetensors')]);
  assert.equal(f.status, 2);
  assert.match(f.stderr, /case\.json: field "input_ids": value 500 is not a token id in \[0, 100\)/);
  assert.equal(fs.existsSync(path.join(dir, 'o.safetensors')), false);

  const u = runCli(['frobnicate']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
});
