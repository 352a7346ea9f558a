import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FIGURES, REPORT_FILE, RESULTS_FILE } from '../../src/plans/report';
import { runCli } from '../helpers/cli';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

describe('deepfusion run (a tiny plan with the real node kinds)', () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const dir = temporaryDir();
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const planFile = path.join(dir, 'tiny.yaml');
  fs.writeFileSync(planFile, `name: tiny
description: Two tiny T5s fused and trained on, against one trained from scratch.
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
defaults: {batch_size: 4, lr: 0.03, eval_every: 2, checkpoint_every: 2}
nodes:
  a: {train: {preset: tiny, steps: 4, seed: 1}}
  b: {train: {preset: tiny, steps: 4, seed: 2}}
  f: {fuse: {sources: [a, b]}}
  g: {train: {from: f, steps: 2, seed: 3}}
  s: {selfFuse: {source: a, noise: "paired:0.01"}}
  t: {train: {from: s, steps: 2}}
  base: {train: {preset: tiny, steps: 8, seed: 4}}
arms:
  scratch: base
  fusion: g
  self: t
  offsets: {final: g, sweep: {node: g, field: lr_offset, values: [0, 50]}}
baseline: scratch
`);
  const out = path.join(dir, 'out');
  const env = { DEEPFUSION_CACHE: temporaryDir() };

  test('runs every job, writes the report, the figures and the results', () => {
    const r = runCli(['run', planFile, '--out', out, '--workers', '2'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^plan tiny: 7 nodes, 1 repeat\(s\), 9 jobs, 5 arms$/m);
    assert.match(r.stderr, /^finished f in .*fused, logits rel\. error/m);
    assert.match(r.stdout, /^report: .*report\.md$/m);
    const report = fs.readFileSync(path.join(out, REPORT_FILE), 'utf8');
    assert.match(report, /^## Verdict$/m);
    assert.match(report, /^Baseline \*\*scratch\*\* ends at validation loss/m);
    assert.match(report, /^\| fusion \| [\d.]+ \| [\d.]+ \| [\d.e+]+ \|/m);
    assert.match(report, /^\| offsets\[lr_offset=50\] \|/m);
    for (const f of Object.values(FIGURES)) assert.match(fs.readFileSync(path.join(out, f), 'utf8'), /^<svg /, f);
    const results = JSON.parse(fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8'));
    // Grouped fusion is exact: the fused logits are the average of the sources'.
    assert.ok(results.jobs.f.facts.logits_relative_error < 1e-5, String(results.jobs.f.facts.logits_relative_error));
    assert.equal(results.jobs.f.facts.d_model, 64);
    assert.equal(results.jobs.g.steps, 2);
    // A fused model continues where training left off: its first evaluation is the fused model's loss.
    assert.equal(results.jobs.g.evals[0].step, 0);
  });

  test('the same command again runs nothing and writes the same report numbers', () => {
    const before = fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8');
    const r = runCli(['run', planFile, '--out', out], env);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /^started/m);
    assert.equal((r.stderr.match(/^cached /gm) ?? []).length, 9);
    assert.equal(fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8'), before);
  });

  test('a plan whose fusion cannot work is refused before any job runs', () => {
    const bad = path.join(dir, 'incompatible.yaml');
    fs.writeFileSync(bad, `name: incompatible\ndata: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}}\n` +
      'nodes:\n  a: {train: {preset: s, steps: 4}}\n  b: {train: {preset: tiny, steps: 4}}\n  f: {fuse: {sources: [a, b]}}\n');
    const badOut = path.join(dir, 'incompatible-out');
    const r = runCli(['run', bad, '--out', badOut], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error: .*incompatible\.yaml:6:\d+: node f: node b: field "num_layers": is 2 but node a has 4\. Fix: /m);
    assert.equal(fs.existsSync(badOut), false, 'nothing ran');
  });

  test('a job failing on a user error is one line with the job, the reason and its log; exit 2', () => {
    const failing = path.join(dir, 'failing.yaml');
    fs.writeFileSync(failing, `name: failing
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
defaults: {batch_size: 4, eval_every: 0, checkpoint_every: 0}
nodes:
  a: {train: {preset: tiny, steps: 1}}
  s: {selfFuse: {source: a}}
  t: {train: {from: s, steps: 1, optimizer_state: carry}}
`);
    const r = runCli(['run', failing, '--out', path.join(dir, 'failing-out')], env);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines.at(-1) ?? '', /^error: job t failed: .*holds no optimizer state .*Fix: .* \(log: .*failing-out\/jobs\/[0-9a-f]+\/log\.txt\)$/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  });

  test('an --out that is a file, and a YAML alias bomb, are one line each', () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'mine');
    const r = runCli(['run', planFile, '--out', file], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error: .*a-file: is a file, so it cannot hold the plan's jobs and report\. Fix: /m);
    const bomb = path.join(dir, 'bomb.yaml');
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(', ')}]`);
    fs.writeFileSync(bomb, `${levels.join('\n')}\nname: bomb\n`);
    const b = runCli(['run', bomb], env, { timeoutMs: 60_000 });
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /^error: .*bomb\.yaml: cannot be expanded \(Excessive alias count.*\)\. Fix: write the values out/);
  });

  test('a bad plan is one error line naming the position and the fix', () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'name: bad\nnodes:\n  a: {train: {preset: tiny, steps: -3}}\n');
    const r = runCli(['run', bad], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: .*bad\.yaml:3:\d+: nodes\.a\.train\.steps: expected an integer in \[0, 100000000\], got -3\. Fix: /);
    const missing = runCli(['run', 'no-such-plan'], env);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no-such-plan: no such plan file, and no bundled plan has that name\. Fix: .*demo/);
    const precision = runCli(['demo', '--precision', 'fp16'], env);
    assert.equal(precision.status, 2);
    assert.match(precision.stderr, /^error: deepfusion demo: --precision must be one of bf16, fp32, got "fp16"\. Fix: /);
  });
});
