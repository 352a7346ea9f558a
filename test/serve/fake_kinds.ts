// Node kinds for dashboard tests: they write what a real `train` job writes (run/run.json and
// run/metrics.jsonl in the real formats, a log) in milliseconds instead of minutes, so the
// real runner, status file and server can be watched through a plan's whole life.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configToJson } from '../../src/model/config';
import type { JobResult, JobSpec, NodeKind, NodeKinds } from '../../src/plans/job';
import { Fields } from '../../src/plans/plan';
import type { FieldPath, PlanSource } from '../../src/plans/plan_source';
import type { EvalRecord, TrainRecord } from '../../src/training/metrics';
import { presetConfig } from '../../src/training/presets';

/** The data of the fake runs' run.json: the server computes their FLOPs per step from it. */
export const FAKE_INPUT_LENGTH = 32;
export const FAKE_BATCH = 4;

interface CurveSettings { steps: number; seed: number; every: number; from: string[] }

/** A made-up but plausible loss curve: falling from ln(400) with seeded wiggles. */
export function trainRecord(step: number, seed: number): TrainRecord {
  const loss = 2 + 4 * Math.exp(-step / 15) + 0.05 * Math.sin(step * (seed + 1));
  return { type: 'train', step, loss, lr: 0.01, grad_norm: 1, tokens: step * 640, elapsed: step * 0.05, tokens_per_s: 12800 };
}

export function evalRecord(step: number, seed: number): EvalRecord {
  const { loss } = trainRecord(step, seed);
  return { type: 'eval', step, val_loss: loss + 0.1, val_accuracy: 0.5 - loss / 20, val_tokens: 64, tokens: step * 640, elapsed: step * 0.05 };
}

function writeRunJson(job: JobSpec): string {
  const run = path.join(job.dir, 'run');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({
    init: { config: configToJson(presetConfig('tiny', 400)), seed: 0 },
    data: { corpus: 'fake', input_length: FAKE_INPUT_LENGTH, batch_size: FAKE_BATCH },
    grad_accumulation: 1,
  }));
  return path.join(run, 'metrics.jsonl');
}

const parseCurve = (raw: unknown, at: FieldPath, src: PlanSource): CurveSettings => {
  const f = Fields.of(src, at, raw, 'curve settings');
  f.onlyKnown(['steps', 'seed', 'every', 'from']);
  const from = f.raw('from');
  return { steps: f.int('steps', 1), seed: f.int('seed', 0, 0), every: f.int('every', 1, 5), from: from === undefined ? [] : ([] as string[]).concat(from as string) };
};

/** Writes `steps` training lines and an evaluation every `every` steps (and at 0), then reports them. */
const curve: NodeKind<CurveSettings> = {
  name: 'curve',
  parse: (raw, at, src) => parseCurve(raw, at, src),
  inputs: (s) => s.from,
  label: (s) => `curve · ${s.steps} steps`,
  reseed: (s, offset) => ({ ...s, seed: s.seed + offset }),
  async run(job, emit) {
    const file = writeRunJson(job);
    const { steps, seed, every } = job.settings;
    const lines = [JSON.stringify(evalRecord(0, seed))];
    for (let step = 1; step <= steps; step++) {
      lines.push(JSON.stringify(trainRecord(step, seed)));
      if (step % every === 0 || step === steps) lines.push(JSON.stringify(evalRecord(step, seed)));
      emit({ type: 'progress', step, total: steps, loss: trainRecord(step, seed).loss, tokensPerSecond: 12800 });
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const evals = lines.map((l) => JSON.parse(l) as EvalRecord | TrainRecord).filter((r): r is EvalRecord => r.type === 'eval')
      .map((e) => ({ step: e.step, tokens: e.tokens, flops: e.step * 1e9, seconds: e.elapsed, val_loss: e.val_loss, val_accuracy: e.val_accuracy }));
    return { kind: 'train', flops: steps * 1e9, seconds: steps * 0.05, steps, peak_rss_mb: 1, evals, facts: { flops_per_step: 1e9, d_model: 32 } } satisfies JobResult;
  },
};

/** Writes `steps` lines, reports progress, then waits until a file named `release` appears in its directory. */
const hold: NodeKind<CurveSettings> = {
  name: 'hold',
  parse: (raw, at, src) => parseCurve(raw, at, src),
  inputs: (s) => s.from,
  label: (s) => `hold · ${s.steps} steps`,
  async run(job, emit) {
    const file = writeRunJson(job);
    const { steps, seed } = job.settings;
    const lines = [JSON.stringify(evalRecord(0, seed))];
    for (let step = 1; step <= steps; step++) lines.push(JSON.stringify(trainRecord(step, seed)));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    emit({ type: 'progress', step: steps, total: steps * 10, loss: trainRecord(steps, seed).loss, tokensPerSecond: 12800 });
    console.log(`holding at step ${steps} until ${path.join(job.dir, 'release')} exists`);
    while (!fs.existsSync(path.join(job.dir, 'release'))) await new Promise((r) => setTimeout(r, 50));
    return { kind: 'train', flops: 0, seconds: 1, steps, peak_rss_mb: 1, evals: [], facts: {} };
  },
};

/** Prints a line and fails. */
const fail: NodeKind<Record<string, never>> = {
  name: 'fail',
  parse: () => ({}),
  inputs: () => [],
  label: () => 'fail on purpose',
  async run() {
    console.error('about to fail: deliberate failure for the dashboard test');
    throw new Error('deliberate failure');
  },
};

export const nodeKinds: NodeKinds = { curve, hold, fail };
