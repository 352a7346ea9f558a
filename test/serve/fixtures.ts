// A runs directory as the dashboard sees it: a finished plan with its report, a plan still
// running (one job held mid-way, one failed), and a real pre-training run. The plans run on the
// real runner, executor and status file with the quick node kinds of ./fake_kinds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalProcessExecutor } from '../../src/plans/executor';
import { expandPlan } from '../../src/plans/graph';
import { parsePlan } from '../../src/plans/plan';
import { parsePlanText } from '../../src/plans/plan_source';
import { writeReport } from '../../src/plans/report';
import { jobDir, runPlan } from '../../src/plans/runner';
import { readPlanStatus } from '../../src/plans/status';
import { runCli } from '../helpers/cli';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';
import { nodeKinds } from './fake_kinds';

const KINDS = path.join(__dirname, 'fake_kinds.js');

export const DONE_PLAN = `
name: done
description: A finished plan with a report.
repeats: 2
nodes:
  small: {curve: {steps: 30, seed: 1, every: 10}}
  grown: {curve: {steps: 20, seed: 2, every: 5, from: small}}
  base: {curve: {steps: 50, seed: 3, every: 10}}
arms: {fusion: grown, scratch: base}
baseline: scratch
`;
/** Evaluations along each arm's spine in DONE_PLAN: small (0, 10, 20, 30) then grown (0, 5, …, 20); base (0, 10, …, 50). */
export const DONE_ARM_POINTS = { fusion: 9, scratch: 6 };

export const LIVE_PLAN = `
name: live
description: A plan caught mid-way.
nodes:
  warm: {curve: {steps: 40, seed: 4}}
  held: {hold: {steps: 25, seed: 5}}
  broken: {fail: {}}
`;
/** Training lines the held job wrote before it stopped to wait. */
export const HELD_STEPS = 25;

const plan = (text: string) => parsePlan(parsePlanText(text, 'plan.yaml'), nodeKinds);
const executor = () => new LocalProcessExecutor({ capacity: 3, kindsModule: KINDS });

export interface RunsFixture {
  root: string;
  /** Directory (relative to root) of each job of the live plan, by id. */
  liveJobs: Record<string, string>;
  /** The real pre-training run, relative to root. */
  pretrain: string;
  /** Lets the held job finish; resolves when the live plan has stopped. */
  release(): Promise<void>;
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function makeRuns(): Promise<RunsFixture> {
  const root = temporaryDir();

  const donePlan = plan(DONE_PLAN);
  const doneDir = path.join(root, 'done');
  const run = await runPlan(donePlan, { outDir: doneDir, executor: executor(), cores: 2, kinds: nodeKinds });
  writeReport(run, { backend: 'test', kinds: nodeKinds, finishedAt: new Date().toISOString() });

  const livePlan = plan(LIVE_PLAN);
  const liveDir = path.join(root, 'plans', 'live');
  const liveJobs = Object.fromEntries(expandPlan(livePlan).jobs.map((j) => [j.id, path.relative(root, jobDir(liveDir, j))]));
  const live = runPlan(livePlan, { outDir: liveDir, executor: executor(), cores: 2, kinds: nodeKinds }).catch(() => undefined);
  await until('the live plan to hold one job and fail another', () => {
    const s = readPlanStatus(liveDir);
    const state = (id: string) => s?.jobs.find((j) => j.id === id)?.state;
    return state('held') === 'running' && state('broken') === 'failed' && state('warm') === 'done' && (s?.jobs.find((j) => j.id === 'held')?.step ?? 0) > 0;
  });

  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const tokenizerFile = path.join(temporaryDir(), 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const pretrain = path.join('pretrain-tiny');
  const r = runCli(['pretrain', '--preset', 'tiny', '--corpus', corpus.source, '--tokenizer', tokenizerFile, '--input-len', '32', '--batch', '4',
    '--eval-batches', '1', '--steps', '6', '--eval-every', '3', '--checkpoint-every', '3', '--lr', '0.03', '--run', path.join(root, pretrain)],
  { DEEPFUSION_CACHE: temporaryDir() });
  if (r.status !== 0) throw new Error(`pretrain failed: ${r.stderr}`);

  return {
    root, liveJobs, pretrain,
    async release() {
      fs.writeFileSync(path.join(root, liveJobs.held, 'release'), '');
      await live;
    },
  };
}
