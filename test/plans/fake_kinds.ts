// Node kinds for runner tests: cheap, deterministic, resumable, and observable from outside.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobResult, NodeKind, NodeKinds } from '../../src/plans/job';
import { Fields } from '../../src/plans/plan';

const result = (value: number, steps: number): JobResult => ({
  kind: 'count', flops: steps, seconds: 0, steps, peak_rss_mb: 0, evals: [], facts: { value },
});

/**
 * Counts to `steps` (a step every `ms`), checkpointing each step; value = seed·steps + Σ inputs.
 * With `busy`, each step computes for `ms` without returning to the event loop, as a training
 * step does; the worker's pid is in the job's `pid` file.
 */
interface CountSettings { steps: number; seed: number; ms: number; from: string[]; busy: boolean }

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
    const ckpt = path.join(job.dir, 'checkpoint');
    let step = fs.existsSync(ckpt) ? Number(fs.readFileSync(ckpt, 'utf8')) : 0;
    fs.appendFileSync(path.join(job.dir, 'starts'), `${step}\n`);
    fs.writeFileSync(path.join(job.dir, 'pid'), String(process.pid));
    const { steps, ms, seed, busy } = job.settings;
    while (step < steps) {
      if (busy) for (const end = Date.now() + ms; Date.now() < end;) { /* computing */ }
      else await new Promise((r) => setTimeout(r, ms));
      step++;
      // Atomically, as real checkpoints are: a worker may be killed at any moment.
      fs.writeFileSync(`${ckpt}.tmp`, String(step));
      fs.renameSync(`${ckpt}.tmp`, ckpt);
      emit({ type: 'progress', step, total: steps });
    }
    const inputs = job.inputs.reduce((s, i) => s + (i.result.facts.value as number), 0);
    return result(seed * steps + inputs, steps);
  },
};

/** Fails on purpose. */
const fail: NodeKind<Record<string, never>> = {
  name: 'fail',
  parse: () => ({}),
  inputs: () => [],
  label: () => 'fail',
  async run() { throw new Error('deliberate failure'); },
};

export const nodeKinds: NodeKinds = { count, fail };
