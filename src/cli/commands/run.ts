import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { makeDirectory } from '../../io/output';
import { expandPlan } from '../../plans/graph';
import { bundledPlanNames, defaultOutDir, loadPlan, runPlanFile } from '../../plans/run_plan_file';
import { DOWNSTREAM_FIGURE } from '../../plans/downstream_report';
import { FIGURES, REPORT_FILE } from '../../plans/report';
import { numberOption, parseCommandArgs, type Command } from '../command';
import { PlanBoard } from '../plan_board';
import { LocalProcessExecutor } from '../../plans/executor';
import { defaultStore, QUEUE_SETTINGS } from '../../plans/distributed/settings';
import type { Plan } from '../../plans/plan';
import { PLAN_SELECT_SETTINGS, selectFromPlan, selectionOutDir } from '../../plans/plan_select';
import { RUN_SERVE_SETTINGS, SERVE_SETTINGS } from '../../serve/settings';
import type { Dashboard } from '../../serve/server';
import { startDashboard } from './serve';
import { TRAINING_SETTINGS } from '../../training/settings';

/** Training settings `run` and `demo` take for every train node that does not set its own. */
export const PLAN_OVERRIDES = TRAINING_SETTINGS.pick(['precision']);

/** The overrides given as flags, checked (a bad value names its flag). */
export function planOverrides(command: string, values: Record<string, unknown>): Record<string, unknown> {
  const given = PLAN_OVERRIDES.fromArgs(values);
  PLAN_OVERRIDES.resolve([{ values: given, source: `deepfusion ${command}`, fromFlags: true }]);
  return given;
}

const NAME = 'run';

export const RUN_HELP = `Usage: deepfusion run <plan.yaml | bundled plan name> [--out <dir>] [--workers N] [--precision bf16|fp32]
                                                       [--arms <arm,...>] [--repeats N] [--serve [--port 8080]]
       deepfusion run <plan> --queue redis://host:6379 [--store <dir|s3://bucket/prefix>] [--precision bf16|fp32]
       deepfusion run --list

Runs a fusion plan: a graph of jobs (train, fuse, selfFuse, eval, finetune, analyze) compared as arms, with repeats.
Independent jobs run at once in worker processes (--workers, default: the number of cores; each
job gets cores / running jobs threads). Every job's output is cached in <dir>/jobs/<hash of its
settings and inputs>, so rerunning the command — after Ctrl-C, a crash, or an edit of the plan —
runs only what is missing or changed; interrupted training resumes from its last checkpoint.

Writes into <dir> (default runs/<plan name>):
  report.md                       the arms' table (final loss/accuracy mean ± std, FLOPs, time,
                                  compute to reach the baseline's loss), the verdict, every job
  ${FIGURES.lossVsFlops}     validation loss against training FLOPs, per arm
  ${FIGURES.lossVsTime}      ... against wall time (independent jobs in parallel)
  ${FIGURES.accuracyVsFlops} validation accuracy against FLOPs
  ${FIGURES.graph}              the plan's graph
  ${FIGURES.sweep}              final loss against a swept setting (plans with a sweep)
  ${DOWNSTREAM_FIGURE}         each arm's fine-tuned test scores (plans with finetune nodes)
  results.json, jobs/             the numbers, and each job's model, metrics and log
  status.json                     the live state of every job, while the plan runs

With --serve, the live dashboard of <dir> (deepfusion serve, docs/dashboard.md) runs beside the
plan and keeps serving after it ends, until Ctrl-C:
${RUN_SERVE_SETTINGS.help()}

On several machines: start \`deepfusion worker --queue redis://host:6379\` on each, then run the plan
with the same --queue (and --store, when the machines share a directory or a bucket rather than
one disk). Ready jobs go to the queue; the workers run them; this command keeps the graph, shows
which worker runs what, and writes the report here (docs/distributed.md).
${QUEUE_SETTINGS.help(['Cluster'])}

A plan file (YAML or JSON):
  name: my-plan
  data: {corpus: default, tokenizer: default, vocab_size: 8192, input_length: 128, eval_batches: 8}
  defaults: {batch_size: 16, optimizer: adafactor, eval_every: 100, checkpoint_every: 250}
  repeats: 3                      # each job once per repeat, seeds + 1000·r
  nodes:
    small_a: {train: {preset: s, steps: 1000, seed: 1}}
    small_b: {train: {preset: s, steps: 1000, seed: 2}}
    fused:   {fuse: {sources: [small_a, small_b], norm: grouped, optimizer_state: reset}}
    grown:   {train: {from: fused, steps: 1000, lr_offset: 0}}
    self:    {selfFuse: {source: small_a, copies: 2, noise: "paired:0.01"}}
    base:    {train: {preset: m, steps: 2000, seed: 3}}
    heat:    {analyze: {what: heatmap, runs: [grown]}}   # growth dynamics (docs/dynamics.md)
  arms: {baseline: base, fusion: grown, tuned: {final: grown, sweep: {node: grown, field: lr_offset, values: [-500, 0, 500]}}}
  baseline: baseline
Train nodes take every setting of \`deepfusion pretrain\` (snake_case) except the data ones;
finetune nodes ({finetune: {model: <node>, suite: default}}) every setting of \`deepfusion finetune\`.

For every train and finetune node that does not set its own (overriding the plan's defaults):
${PLAN_OVERRIDES.help()}

${PLAN_SELECT_SETTINGS.help()}
The jobs are the whole plan's (same settings, seeds and cache). A part writes to
runs/<plan>-<arms>-r<repeats> unless --out says otherwise; with the whole plan's --out it reuses what
that run computed, and its report.md and figures, which cover the part only, replace the whole's
(the jobs stay: running the whole plan again rewrites its report from them).

Examples: deepfusion run demo
          deepfusion run demo --arms "from scratch" --repeats 3   # that arm over seeds 6, 1006, 2006, in runs/demo-from-scratch-r3`;

/** The --serve flags of run and demo: their values if --serve is given; a --port etc. without it is refused. */
export function serveOption(command: string, values: Record<string, unknown>): Record<string, unknown> | undefined {
  const s = RUN_SERVE_SETTINGS.resolve([{ values: RUN_SERVE_SETTINGS.fromArgs(values), source: `deepfusion ${command}`, fromFlags: true }]);
  if (s.serve) return values;
  const stray = SERVE_SETTINGS.keys.find((k) => values[SERVE_SETTINGS.decls[k].flag as string] !== undefined);
  if (stray) throw new UserError(`deepfusion ${command}: --${SERVE_SETTINGS.decls[stray].flag} configures the dashboard. Fix: add --serve, or leave it out`);
  return undefined;
}

/** Where a plan's jobs run: here, or on the workers of a queue (docs/distributed.md). */
export interface Cluster { queue: string; store?: string }

export async function runAndReport(plan: Plan, out: string | undefined, workers: number | undefined,
  serve?: Record<string, unknown>, cluster?: Cluster): Promise<void> {
  const { jobs, arms } = expandPlan(plan);
  const outDir = path.resolve(out ?? defaultOutDir(plan));
  let dashboard: Dashboard | undefined;
  if (serve) {
    makeDirectory(outDir, 'the plan\'s jobs and report');
    dashboard = await startDashboard(outDir, serve, 'deepfusion run');
  }
  // Loaded only for queued runs: the queue client takes a while to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const open = (c: Cluster) => (require('../../plans/distributed/queue_executor') as typeof import('../../plans/distributed/queue_executor'))
    .QueueExecutor.open({ queue: c.queue, store: c.store ?? defaultStore() });
  const queued = cluster ? await open(cluster) : undefined;
  const board = new PlanBoard(jobs.length, process.stderr, 15, queued !== undefined);
  const executor = queued ?? new LocalProcessExecutor({ capacity: workers ?? os.availableParallelism() });
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    board.close();
    console.error(`\ninterrupted: finished jobs are kept in ${queued ? queued.store.description : outDir}; ` +
      `run the same command again to resume.`);
    // Queued jobs are cancelled through the queue, which takes a round trip (bounded, in case it is unreachable).
    const cancelled = Promise.resolve(executor.cancelAll());
    void Promise.race([cancelled, new Promise((r) => setTimeout(r, 5000))]).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  console.error(`plan ${plan.name}: ${plan.nodes.length} nodes, ${plan.repeats} repeat(s), ${jobs.length} jobs, ${arms.length} arms` +
    `${queued ? ` · ${queued.description}` : ''}`);
  let failure: unknown;
  try {
    const done = await runPlanFile(plan, {
      outDir, executor, events: board, progress: (line) => console.error(`data: ${line}`),
    });
    board.close();
    console.log(`\nreport: ${path.join(done.outDir, REPORT_FILE)}`);
    for (const a of done.arms) {
      console.log(`  ${a.name.padEnd(24)} final val loss ${a.finalLoss.mean.toFixed(3)}${a.finalLoss.n > 1 ? ` ± ${a.finalLoss.std.toFixed(3)}` : ''}` +
        `  acc ${(100 * a.finalAccuracy.mean).toFixed(1)}%  FLOPs ${a.flops.mean.toExponential(2)}`);
    }
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await queued?.close();
  }
  if (dashboard) {
    board.close();
    console.error(`\nplan ${failure === undefined ? 'finished' : `failed: ${(failure as Error).message ?? failure}`}; ` +
      `the dashboard is still at ${dashboard.baseUrl} — Ctrl-C to stop it`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dashboard.close();
  }
  if (failure !== undefined) throw failure;
}

export const runCommand: Command = {
  name: NAME,
  summary: 'run a fusion plan (graph of train/fuse jobs, arms, repeats): cached, resumable, report + plots',
  help: RUN_HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(NAME, argv, {
      out: { type: 'string' }, workers: { type: 'string' }, list: { type: 'boolean' }, ...RUN_SERVE_SETTINGS.cliOptions(),
      ...PLAN_OVERRIDES.cliOptions(), ...PLAN_SELECT_SETTINGS.cliOptions(), ...QUEUE_SETTINGS.cliOptions(),
    });
    if (values.list) {
      for (const name of bundledPlanNames()) {
        const plan = loadPlan(name);
        console.log(`${name.padEnd(12)} ${plan.description.split('\n')[0]}`);
      }
      return;
    }
    if (positionals.length !== 1) throw new UserError(`deepfusion run: give one plan (a file or one of: ${bundledPlanNames().join(', ')}). See: deepfusion run --help`);
    const workers = values.workers === undefined ? undefined : numberOption(NAME, 'workers', values.workers, 1, { integer: true, min: 1 });
    const serve = serveOption(NAME, values);
    const cluster = QUEUE_SETTINGS.resolve([{ values: QUEUE_SETTINGS.fromArgs(values), source: `deepfusion ${NAME}`, fromFlags: true }]);
    if (cluster.queue === undefined && cluster.store !== undefined) throw new UserError(`deepfusion ${NAME}: --store goes with --queue. See: deepfusion ${NAME} --help`);
    if (cluster.queue !== undefined && workers !== undefined) {
      throw new UserError(`deepfusion ${NAME}: --workers is for local runs; with --queue, each worker's --slots decides how many jobs run. Fix: drop --workers`);
    }
    const source = `deepfusion ${NAME}`;
    const selection = PLAN_SELECT_SETTINGS.resolve([{ values: PLAN_SELECT_SETTINGS.fromArgs(values), source, fromFlags: true }]);
    const whole = loadPlan(positionals[0], planOverrides(NAME, values));
    const plan = selectFromPlan(whole, selection, source);
    await runAndReport(plan, values.out ?? selectionOutDir(whole, selection), workers, serve,
      cluster.queue === undefined ? undefined : { queue: cluster.queue, store: cluster.store });
  },
};
