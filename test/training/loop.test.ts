import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { tf } from '../../src/engine/tf';
import { ConfigError } from '../../src/errors';
import { loadModel } from '../../src/io/checkpoint';
import { readSafetensors } from '../../src/io/safetensors';
import { initParams, disposeParams } from '../../src/model/params';
import { readMetrics } from '../../src/training/metrics';
import { train, TrainingDiverged, type TrainEvent } from '../../src/training/loop';
import { ADAFACTOR_DEFAULTS } from '../../src/training/optimizers/adafactor';
import { ADAMW_DEFAULTS } from '../../src/training/optimizers/adamw';
import { learningRate } from '../../src/training/schedules';
import { stepGradients } from '../../src/training/step';
import { copyBatch } from '../helpers/copy_task';
import { TEST_BACKENDS } from '../helpers/backends';
import { assertClose } from '../helpers/compare';
import { resumableRun, TASK, TINY, tinyRun, type ResumableRun } from './helpers/tiny_run';
import { temporaryDir } from '../helpers/tmp';

const CHILD = path.join(__dirname, 'helpers', 'train_child.js');
let root: string;
const dir = (name: string): string => path.join(root, name);

/** Starts the child trainer; resolves once it printed `until` (then kills it) or exited. */
function runChild(run: ResumableRun, opts: { pauseAtStep?: number; killAfterLine?: string }): Promise<string[]> {
  const file = path.join(root, `child-${path.basename(run.runDir)}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...run, pauseAtStep: opts.pauseAtStep }));
  const child = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line === `paused ${opts.pauseAtStep}` || line === opts.killAfterLine) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve(lines));
  });
}

function finalWeights(runDir: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(path.join(runDir, 'final', 'model.safetensors'))].map(([k, v]) => [k, v.data]));
}

describe('training loop', () => {
  before(async () => {
    await initEngine('cpu');
    root = temporaryDir('df-loop-');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a tiny T5 learns the task: validation loss falls well below its start; the run dir is complete', async () => {
    const runDir = dir('learn');
    const r = await train(tinyRun(runDir, { steps: 30, eval_every: 10, checkpoint_every: 10 }));
    const first = r.evals[0].val_loss;
    const last = r.evals.at(-1)!.val_loss;
    assert.deepEqual(r.evals.map((e) => e.step), [0, 10, 20, 30]);
    assert.ok(last < 0.4 * first, `validation loss ${first} → ${last}`);
    assert.ok(r.evals.at(-1)!.val_accuracy > 0.6);
    assert.equal(r.step, 30);
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'optimizer.json', 'trainer_state.json']) {
      assert.ok(fs.existsSync(path.join(runDir, 'final', f)), f);
    }
    assert.deepEqual(fs.readdirSync(path.join(runDir, 'checkpoints')), ['step-00000010', 'step-00000020']);
    assert.ok(fs.readFileSync(path.join(runDir, 'val_loss.svg'), 'utf8').includes('<path'));
    const m = readMetrics(path.join(runDir, 'metrics.jsonl'));
    assert.deepEqual(m.train.map((t) => t.step), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(m.eval, r.evals);
    const t = m.train[4];
    assert.equal(t.lr, 0.05);
    assert.ok(t.grad_norm > 0 && t.tokens > 0 && t.tokens_per_s > 0 && t.elapsed > 0);
    assert.deepEqual(Object.keys(t).sort(), ['elapsed', 'grad_norm', 'loss', 'lr', 'step', 'tokens', 'tokens_per_s', 'type']);
    // The final directory is an ordinary model directory.
    const { params } = loadModel(path.join(runDir, 'final'));
    disposeParams(params);
  });

  test('a finished run is not trained again', async () => {
    const runDir = dir('learn');
    const before = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');
    const events: TrainEvent[] = [];
    const r = await train(tinyRun(runDir, { steps: 30, eval_every: 10, checkpoint_every: 10, onEvent: (e) => events.push(e) }));
    assert.equal(r.cached, true);
    assert.deepEqual(events.map((e) => e.type), ['done']);
    assert.equal(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8'), before);
  });

  test('gradient accumulation over micro-batches equals one big batch', () => {
    const params = initParams(TINY, 3);
    const a = copyBatch(TASK, 1);
    const b = copyBatch(TASK, 2);
    const big = copyBatch({ ...TASK, batchSize: 16 }, 0);
    // Rebuild `big` as a and b stacked so both paths see the same examples.
    for (const key of ['inputIds', 'attentionMask', 'decoderInputIds', 'labels'] as const) {
      (big[key] as Int32Array).set(a[key] as Int32Array, 0);
      (big[key] as Int32Array).set(b[key] as Int32Array, a[key].length);
    }
    const dropout = { rate: 0, seed: () => 0 };
    const one = stepGradients(TINY, params, [big], dropout);
    const two = stepGradients(TINY, params, [a, b], dropout);
    assert.ok(Math.abs(one.loss - two.loss) < 1e-5, `${one.loss} vs ${two.loss}`);
    for (const name of Object.keys(params)) assertClose(two.grads[name].dataSync(), one.grads[name].dataSync(), 1e-5, name);
    disposeParams(one.grads);
    disposeParams(two.grads);
    disposeParams(params);
  });

  for (const backend of TEST_BACKENDS) {
    test(`no tensor leaks on ${backend}: the tensor count is the same after every step and back to the start after the run`, async () => {
      await initEngine(backend);
      try {
        const start = tf.memory().numTensors;
        const counts: number[] = [];
        for (const optimizer of [ADAFACTOR_DEFAULTS, ADAMW_DEFAULTS]) {
          await train(tinyRun(dir(`leaks-${backend}-${optimizer.name}`), {
            steps: 4, eval_every: 2, checkpoint_every: 2, grad_accumulation: 2, dropout: 0.1, clip_norm: 0.5, optimizer,
            onEvent: (e) => { if (e.type === 'train') counts.push(tf.memory().numTensors - start); },
          }));
          assert.equal(tf.memory().numTensors, start, optimizer.name);
        }
        assert.equal(new Set(counts.slice(0, 4)).size, 1, `tensor counts per step: ${counts}`);
        assert.equal(new Set(counts.slice(4)).size, 1, `tensor counts per step: ${counts}`);
      } finally {
        await initEngine('cpu');
      }
    });
  }

  test('kill-and-resume: a run killed between checkpoints, and again right after one, continues with the same losses', async () => {
    const run = (name: string): ResumableRun => ({ runDir: dir(name), steps: 12, checkpoint_every: 4, grad_accumulation: 2, dropout: 0.1 });
    await train(resumableRun(run('straight')));
    const reference = readMetrics(path.join(dir('straight'), 'metrics.jsonl'));

    // Killed at step 6 (checkpoint 4 exists, steps 5–6 and an eval are in the metrics past it) …
    const first = await runChild(run('killed'), { pauseAtStep: 6 });
    assert.ok(first.includes('checkpoint 4') && first.includes('paused 6'));
    assert.ok(!fs.existsSync(path.join(dir('killed'), 'final')));
    // … then again just after checkpoint 8 was written …
    const second = await runChild(run('killed'), { killAfterLine: 'checkpoint 8' });
    assert.ok(second.includes('start 4') && second.includes('checkpoint 8'));
    // … then to the end.
    const third = await runChild(run('killed'), {});
    assert.ok(third.includes('start 8') && third.includes('done 12'), third.join(' | '));

    const resumed = readMetrics(path.join(dir('killed'), 'metrics.jsonl'));
    const strip = <T extends { elapsed: number }>(records: T[]) => records.map(({ elapsed: _e, ...rest }) =>
      ('tokens_per_s' in rest ? { ...rest, tokens_per_s: 0 } : rest));
    assert.deepEqual(strip(resumed.train), strip(reference.train));
    assert.deepEqual(strip(resumed.eval), strip(reference.eval));
    assert.deepEqual(finalWeights(dir('killed')), finalWeights(dir('straight')));
    assert.ok(!fs.existsSync(path.join(dir('killed'), 'run.lock')));
  });

  test('kill-and-resume at an arbitrary moment; leftovers of interrupted writes are cleaned up', async () => {
    const run: ResumableRun = { runDir: dir('anytime'), steps: 12, checkpoint_every: 4, grad_accumulation: 2, dropout: 0.1 };
    // Killed as soon as step 5's line arrives: wherever the child is by then (often inside step 6 or its eval).
    await runChild(run, { killAfterLine: 'train 5' });
    fs.mkdirSync(path.join(run.runDir, 'checkpoints', '.step-00000008.tmp-1-2-3'));
    fs.writeFileSync(path.join(run.runDir, 'checkpoints', '.step-00000008.tmp-1-2-3', 'model.safetensors'), 'half');
    await train(resumableRun(run));
    assert.deepEqual(fs.readdirSync(path.join(run.runDir, 'checkpoints')), ['step-00000004', 'step-00000008']);
    const reference = readMetrics(path.join(dir('straight'), 'metrics.jsonl'));
    const resumed = readMetrics(path.join(run.runDir, 'metrics.jsonl'));
    assert.deepEqual(resumed.train.map((t) => t.loss), reference.train.map((t) => t.loss));
    assert.deepEqual(finalWeights(run.runDir), finalWeights(dir('straight')));
  });

  test('resuming with other settings is refused, naming run.json and the field', async () => {
    const runDir = dir('learn');
    await assert.rejects(train(tinyRun(runDir, { steps: 40, optimizer: ADAMW_DEFAULTS })),
      (e: unknown) => e instanceof ConfigError && e.message.includes(path.join(runDir, 'run.json')) && e.message.includes('field "optimizer.name"'));
    await assert.rejects(train(tinyRun(runDir, { steps: 20 })), /already trained 30 steps, more than the 20/);
  });

  test('a run directory in use by a live process is refused; a dead one\'s lock is taken over', async () => {
    const runDir = dir('locked');
    fs.mkdirSync(runDir, { recursive: true });
    const lock = path.join(runDir, 'run.lock');
    fs.writeFileSync(lock, String(process.ppid));
    await assert.rejects(train(tinyRun(runDir, { steps: 1 })), (e: unknown) => e instanceof Error &&
      e.message.includes(`another training process (pid ${process.ppid}) is using this run directory (lock ${lock})`) &&
      e.message.includes(`if no training runs there, delete ${lock}`));
    fs.writeFileSync(lock, '999999999');
    assert.equal((await train(tinyRun(runDir, { steps: 1 }))).step, 1);
    // A live pid that started at another time than the lock's holder: the pid was reused, the lock is stale.
    if (fs.existsSync(`/proc/${process.ppid}/stat`)) {
      fs.writeFileSync(lock, `${process.ppid} 1`);
      assert.equal((await train(tinyRun(runDir, { steps: 2 }))).step, 2);
    }
  });

  test('a longer run continues a finished one', async () => {
    const runDir = dir('extend');
    await train(tinyRun(runDir, { steps: 4 }));
    const r = await train(tinyRun(runDir, { steps: 6 }));
    assert.equal(r.resumedFrom, path.join(runDir, 'final'));
    await train(tinyRun(dir('extend-straight'), { steps: 6 }));
    assert.deepEqual(finalWeights(runDir), finalWeights(dir('extend-straight')));
  });

  test('continuing from a model directory: optimizer state carried or reset, schedule at step + offset', async () => {
    const source = path.join(dir('learn'), 'final');
    const schedule = { kind: 'inverse-sqrt', base: 0.1, warmup: 100 } as const;
    const carry = await train(tinyRun(dir('carry'), { init: { from: source, optimizerState: 'carry' }, steps: 3, schedule, lr_offset: -50 }));
    const reset = await train(tinyRun(dir('reset'), { init: { from: source, optimizerState: 'reset' }, steps: 3, schedule, lr_offset: 400 }));
    const step = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'optimizer.json'), 'utf8')).step;
    assert.equal(step(carry.finalDir), 33);
    assert.equal(step(reset.finalDir), 3);
    assert.equal(carry.lastTrain!.lr, learningRate(schedule, 3, -50));
    assert.equal(reset.lastTrain!.lr, 0.1 / Math.sqrt(403));
    // The source model is where both start: their first evaluation is the source's last.
    const sourceEval = JSON.parse(fs.readFileSync(path.join(source, 'trainer_state.json'), 'utf8')).evals.at(-1);
    assert.equal(carry.evals[0].val_loss, sourceEval.val_loss);
    await assert.rejects(train(tinyRun(dir('no-state'), { init: { from: path.join(root, 'nowhere'), optimizerState: 'carry' } })),
      /nowhere/);
  });

  test('a run continuing a model resumes after both moved together (another machine, a renamed output directory)', async () => {
    const place = (name: string): string => {
      fs.cpSync(path.join(dir('learn'), 'final'), path.join(dir(name), 'source'), { recursive: true });
      return dir(name);
    };
    const options = (base: string, steps: number) => tinyRun(path.join(base, 'run'), {
      init: { from: path.join(base, 'source'), optimizerState: 'carry' }, steps, eval_every: 1,
    });
    await train(options(place('moved-before'), 2));
    fs.renameSync(dir('moved-before'), dir('moved-after'));
    const resumed = await train(options(dir('moved-after'), 4));
    assert.equal(resumed.resumedFrom, path.join(dir('moved-after'), 'run', 'final'));
    const straight = await train(options(place('moved-straight'), 4));
    assert.deepEqual(resumed.evals.map((e) => e.val_loss), straight.evals.map((e) => e.val_loss));
    // A run.json written before input models were named relative to the run (an absolute path) still resumes.
    const runFile = path.join(dir('moved-after'), 'run', 'run.json');
    const saved = JSON.parse(fs.readFileSync(runFile, 'utf8'));
    assert.equal(saved.init.from, path.join('..', 'source'));
    fs.writeFileSync(runFile, JSON.stringify({ ...saved, init: { ...saved.init, from: path.join(dir('moved-after'), 'source') } }));
    assert.equal((await train(options(dir('moved-after'), 5))).step, 5);
  });

  test('a diverging run stops with the step and the last good checkpoint, before spoiling the parameters', async () => {
    const runDir = dir('diverge');
    const options = tinyRun(runDir, {
      steps: 20, checkpoint_every: 1, optimizer: { ...ADAMW_DEFAULTS, weight_decay: 0 }, schedule: { kind: 'constant', lr: 1e30, warmup: 0 },
    });
    await assert.rejects(train(options), (e: unknown) => {
      assert.ok(e instanceof TrainingDiverged, String(e));
      assert.match(e.message, new RegExp(`step ${e.step}: .*Last good checkpoint: .*step-${String(e.step - 1).padStart(8, '0')}`));
      return true;
    });
    assert.ok(!fs.existsSync(path.join(runDir, 'final')));
    assert.ok(!fs.existsSync(path.join(runDir, 'run.lock')));
  });
});
