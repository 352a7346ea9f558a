// Node kinds for runner tests: cheap, deterministic, resumable, and observable from outside.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobResult, NodeKind, NodeKinds } from '../../src/plans/job';
import { Fields } from '../../src/plans/plan';
import { UserError } from '../../src/errors';

const result = (value: number, steps: number): JobResult => ({
  kind: 'count', flops: steps, seconds: 0, steps, peak_rss_mb: 0, evals: [], facts: { value },
});

/**
 * Counts to `steps` (a step every `ms`), checkpointing each step as checkpoints/step-N (the newest
 * two kept, as training does); value = seed·steps + Σ inputs. Each start appends the step it starts
 * from to `starts`, and, with $FAKE_KINDS_LOG set, its key to that file (runs across workers).
 * With `busy`, each step computes for `ms` without returning to the event loop, as a training
 * step does; the worker's pid is in the job's `pid` file.
 */
interface CountSettings { steps: number; seed: number; ms: number; from: string[]; busy: boolean }

const checkpointName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** The step of the newest checkpoint in a count job's `checkpoints` directory (0 when none). */
export function lastCheckpoint(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return Math.max(0, ...fs.readdirSync(dir).filter((n) => n.startsWith('step-')).map((n) => Number(n.slice(5))));
}

function writeCheckpoint(dir: string, step: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}`);
  fs.writeFileSync(tmp, String(step));
  fs.renameSync(tmp, path.join(dir, checkpointName(step)));
  if (step > 2) fs.rmSync(path.join(dir, checkpointName(step - 2)), { force: true });
}

const count: NodeKind<CountSettings> = {
  name: 'count',
  parse(raw, at, src) {
    const f = Fields.of(src, at, raw, 'count settings');
    f.onlyKnown(['steps', 'seed', 'from', 'ms', 'busy']);
    const from = f.raw('from');
    return {
      steps: f.int('steps', 1), seed: f.int('seed', 0, 0), ms: f.int('ms', 0, 5), from: from === undefined ? [] : ([] as string[]).concat(from as string),
      busy: f.raw('busy') === true,
    };
  },
  inputs: (s) => s.from,
  label: (s) => `count ${s.steps}`,
  reseed: (s, offset) => ({ ...s, seed: s.seed + offset }),
  async run(job, emit) {
    const checkpoints = path.join(job.dir, 'checkpoints');
    let step = lastCheckpoint(checkpoints);
    fs.appendFileSync(path.join(job.dir, 'starts'), `${step}\n`);
    fs.writeFileSync(path.join(job.dir, 'pid'), String(process.pid));
    if (process.env.FAKE_KINDS_LOG) fs.appendFileSync(process.env.FAKE_KINDS_LOG, `${job.key} ${step}\n`);
    const { steps, ms, seed, busy } = job.settings;
    while (step < steps) {
      if (busy) for (const end = Date.now() + ms; Date.now() < end;) { /* computing */ }
      else await new Promise((r) => setTimeout(r, ms));
      step++;
      writeCheckpoint(checkpoints, step);
      emit({ type: 'progress', step, total: steps });
    }
    const inputs = job.inputs.reduce((s, i) => s + (i.result.facts.value as number), 0);
    return result(seed * steps + inputs, steps);
  },
};

/** Fails on purpose as a user error (bad settings): no point in trying again. */
const bad: NodeKind<Record<string, never>> = {
  name: 'bad',
  parse: () => ({}),
  inputs: () => [],
  label: () => 'bad',
  async run() { throw new UserError('bad.yaml: field "x": deliberately bad. Fix: none'); },
};

/** Fails on purpose. */
const fail: NodeKind<Record<string, never>> = {
  name: 'fail',
  parse: () => ({}),
  inputs: () => [],
  label: () => 'fail',
  async run() { throw new Error('deliberate failure'); },
};

export const nodeKinds: NodeKinds = { count, fail, bad };
