// Everything `deepfusion run` does, callable from TypeScript: resolve a plan (file or bundled
// name), prepare the shared data once, run the jobs in worker processes, write the report.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend, initEngine } from '../engine';
import { UserError } from '../errors';
import { loadTokenizer, openTrainingData } from '../data';
import { makeDirectory } from '../io/output';
import { LocalProcessExecutor, type Executor } from './executor';
import { nodeKinds } from './kinds';
import { parsePlan, type Plan } from './plan';
import { checkPlan } from './plan_check';
import { readPlanSource } from './plan_source';
import { writeReport } from './report';
import { runPlan, type PlanRun, type RunnerEvents } from './runner';
import type { ArmSummary } from './arm_results';

/** Plans shipped with the package (`plans/<name>.yaml`). */
export const BUNDLED_PLANS_DIR = path.resolve(__dirname, '../../../plans');

export function bundledPlanNames(): string[] {
  return fs.readdirSync(BUNDLED_PLANS_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** A plan file path, or the name of a bundled plan. */
export function resolvePlanFile(nameOrPath: string): string {
  if (fs.existsSync(nameOrPath)) return nameOrPath;
  const bundled = path.join(BUNDLED_PLANS_DIR, `${nameOrPath}.yaml`);
  if (fs.existsSync(bundled)) return bundled;
  throw new UserError(`${nameOrPath}: no such plan file, and no bundled plan has that name. ` +
    `Fix: give a path, or one of: ${bundledPlanNames().join(', ')}`);
}

/** A plan by file or bundled name; `overrides` replace the defaults of its train nodes (see parsePlan). */
export function loadPlan(nameOrPath: string, overrides: Record<string, unknown> = {}): Plan {
  return parsePlan(readPlanSource(resolvePlanFile(nameOrPath)), nodeKinds, overrides);
}

/**
 * Trains the plan's tokenizer and tokenizes its corpus once, before jobs start, so parallel
 * workers find both in the cache instead of each doing the work.
 */
export async function prepareData(plan: Plan, progress: (line: string) => void): Promise<void> {
  const data = await openTrainingData(plan.data, { batch_size: 1, seed: 0 }, progress);
  await data.train.open();
}

export interface PlanRunOptions {
  outDir?: string;
  /** Jobs at once; default the number of cores. */
  workers?: number;
  events?: RunnerEvents;
  progress?: (line: string) => void;
  executor?: Executor;
}

export interface FinishedPlan { run: PlanRun; arms: ArmSummary[]; outDir: string }

export function defaultOutDir(plan: Plan): string {
  return path.join('runs', plan.name);
}

/** The number of ids of the plan's tokenizer, without training it (the default one has exactly vocab_size). */
function vocabularyOf(plan: Plan): number {
  return plan.data.tokenizer === 'default' ? plan.data.vocab_size : loadTokenizer(plan.data.tokenizer).vocabSize;
}

export async function runPlanFile(plan: Plan, opts: PlanRunOptions = {}): Promise<FinishedPlan> {
  const outDir = path.resolve(opts.outDir ?? defaultOutDir(plan));
  const cores = os.availableParallelism();
  checkPlan(plan, nodeKinds, vocabularyOf(plan));
  makeDirectory(outDir, 'the plan\'s jobs and report');
  await initEngine();
  await prepareData(plan, opts.progress ?? (() => undefined));
  const executor = opts.executor ?? new LocalProcessExecutor({ capacity: opts.workers ?? cores });
  const run = await runPlan(plan, { outDir, executor, events: opts.events, cores, kinds: nodeKinds });
  const arms = writeReport(run, { backend: describeBackend(), kinds: nodeKinds, finishedAt: new Date().toISOString() });
  return { run, arms, outDir };
}
