import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { REPORT_FILE, RESULTS_FILE } from '../../src/plans/report';
import { runCli } from '../helpers/cli';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';

// A plan with analysis nodes, as plans/figure5.yaml is built, at a scale a test can afford; then
// the same analyses from the command line on the plan's runs.
describe('growth-dynamics analyses (plan nodes and deepfusion analyze)', () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const dir = temporaryDir();
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const planFile = path.join(dir, 'dynamics.yaml');
  fs.writeFileSync(planFile, `name: dynamics
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
defaults: {batch_size: 4, lr: 0.03, eval_every: 2, checkpoint_every: 2, keep_checkpoints: 10, track_replicas_every: 1}
nodes:
  small: {train: {preset: tiny, steps: 4, seed: 1}}
  self: {selfFuse: {source: small, noise: "paired:0.001"}}
  high: {train: {from: self, steps: 4, lr_offset: 0, seed: 2}}
  low: {train: {from: self, steps: 4, lr_offset: 100000, seed: 2}}
  heat: {analyze: {what: heatmap, runs: [high, low], window: 4}}
  reps: {analyze: {what: replicas, runs: [high, low]}}
  coupling: {analyze: {what: bracket, runs: [high], hvp_radius: 0.01, batch_size: 2}}
  gap: {analyze: {what: modified-loss, models: [self], h: [0.002, 0.004], substeps: 1, hvp_radius: 0.01, batch_size: 2}}
arms: {high: high, low: low}
`);
  const out = path.join(dir, 'out');
  const env = { DEEPFUSION_CACHE: temporaryDir() };
  /** The run directory of the plan's job `id`. */
  const runOf = (id: string): string => {
    const jobs = path.join(out, 'jobs');
    const key = fs.readdirSync(jobs).find((k) => JSON.parse(fs.readFileSync(path.join(jobs, k, 'job.json'), 'utf8')).id === id);
    assert.ok(key, id);
    return path.join(jobs, key, 'run');
  };

  test('the plan runs its analyses; the report shows their numbers and figures', () => {
    const r = runCli(['run', planFile, '--out', out, '--workers', '2'], env);
    assert.equal(r.status, 0, r.stderr);
    const report = fs.readFileSync(path.join(out, REPORT_FILE), 'utf8');
    assert.match(report, /^## Analyses$/m);
    for (const id of ['heat', 'reps', 'coupling', 'gap']) assert.match(report, new RegExp(`^### ${id}: analyze `, 'm'));
    const images = [...report.matchAll(/!\[[^\]]*\]\((jobs\/[^)]+)\)/g)].map((m) => m[1]);
    for (const f of ['heatmap.svg', 'replica_distance.svg', 'replica_grad_cos.svg', 'replica_off_diagonal.svg', 'bracket.svg', 'modified_loss.svg']) {
      const file = images.find((i) => i.endsWith(f));
      assert.ok(file, `${f} in the report`);
      assert.match(fs.readFileSync(path.join(out, file), 'utf8'), /^<svg /);
    }
    const heat = fs.readFileSync(path.join(out, images.find((i) => i.endsWith('heatmap.svg'))!), 'utf8');
    // Two runs × three points (the fused model at step 0, the checkpoint at 2, the final model at 4), each
    // with the replicas' difference under it, and the colour bar.
    assert.equal((heat.match(/<image /g) ?? []).length, 2 * 3 * 2 + 1);
    assert.match(heat, />high: A − B</);
    const results = JSON.parse(fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8'));
    assert.equal(typeof results.jobs.gap.facts.slope_modified_flow, 'number');
    assert.equal(results.jobs.reps.facts.what, 'replicas');
    // The high-rate run's replicas moved apart more than the low-rate run's (offset 100000: a tiny rate).
    const reps = JSON.parse(fs.readFileSync(path.join(out, images.find((i) => i.endsWith('replica_distance.svg'))!.replace('replica_distance.svg', 'replicas.json')), 'utf8'));
    const last = (label: string) => reps.series.find((s: { label: string }) => s.label === label).points.at(-1).stats.distance;
    assert.ok(last('high') > last('low'), `${last('high')} vs ${last('low')}`);
  });

  test('deepfusion analyze on the plan\'s runs prints the numbers and writes the figures', () => {
    const outDir = path.join(dir, 'analysis');
    const r = runCli(['analyze', 'replicas', '--run', `high=${runOf('high')}`, '--source', 'checkpoints', '--batch', '2', '--corpus', corpus.source, '--input-len', '32', '--out', outDir], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^high \(from checkpoints, 3 points\):$/m);
    assert.match(r.stdout, /^ {2}replica distance \S+ at step 0 → \S+ at step 4; gradient cosine \S+ → \S+; off-diagonal blocks \S+ → \S+$/m);
    assert.match(r.stdout, /^figure {3}.*replica_distance\.svg/m);
    assert.ok(fs.existsSync(path.join(outDir, 'replicas.json')));
  });

  test('bad input is one line naming the problem and the fix', () => {
    const unknown = runCli(['analyze', 'spectrum'], env);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^error: deepfusion analyze: unknown analysis "spectrum"\. Fix: use one of replicas, heatmap, modified-loss, bracket/);
    const notFused = runCli(['analyze', 'bracket', '--model', path.join(runOf('small'), 'final')], env);
    assert.equal(notFused.status, 2, notFused.stderr);
    assert.match(notFused.stderr, /^error: .*final: has no fusion\.json: it was not made by fuse \/ self-fuse .*\. Fix: /m);
    // A model trained on from a fused one keeps the record, so its checkpoints can be analysed.
    assert.ok(fs.existsSync(path.join(runOf('high'), 'final', 'fusion.json')));
    const noTarget = runCli(['analyze', 'heatmap'], env);
    assert.equal(noTarget.status, 2);
    assert.match(noTarget.stderr, /analyze heatmap: needs a run directory \(--run\)\. Fix: /);
    const badPlan = path.join(dir, 'bad.yaml');
    fs.writeFileSync(badPlan, 'name: bad\nnodes:\n  a: {train: {preset: tiny, steps: 2}}\n  x: {analyze: {what: spectrum, runs: [a]}}\n');
    const bad = runCli(['run', badPlan], env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^error: .*bad\.yaml:4:\d+: nodes\.x\.analyze\.what: expected one of replicas, heatmap, modified-loss, bracket, got "spectrum"\. Fix: /);
  });
});
