import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { PlanStatus } from '../../src/plans/status';
import { RunsRoot } from '../../src/serve/paths';
import { listRuns, runInfo } from '../../src/serve/runs';
import { t5TrainingStepFlops } from '../../src/model/flops';
import { spanCorruptionLengths } from '../../src/data/span_corruption';
import { configToJson } from '../../src/model/config';
import { presetConfig } from '../../src/training/presets';
import { temporaryDir } from '../helpers/tmp';

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number;
}

function status(pid: number, host = os.hostname(), updated = new Date()): PlanStatus {
  return {
    version: 1, plan: { name: 'p', description: '', file: 'p.yaml', repeats: 1 }, state: 'running', pid, host,
    started_at: updated.toISOString(), updated_at: updated.toISOString(), heartbeat_s: 10, jobs: [], arms: [],
  };
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('what the dashboard finds in a runs directory', () => {
  test('plans and runs at any depth up to three, with their states; links and checkpoints are not followed', () => {
    const dir = temporaryDir();
    write(path.join(dir, 'alive', 'status.json'), JSON.stringify(status(process.pid)));
    write(path.join(dir, 'killed', 'status.json'), JSON.stringify(status(deadPid())));
    // A runner on another machine is trusted while its file keeps being rewritten.
    write(path.join(dir, 'remote', 'fresh', 'status.json'), JSON.stringify(status(1, 'elsewhere')));
    write(path.join(dir, 'remote', 'silent', 'status.json'), JSON.stringify(status(1, 'elsewhere', new Date(Date.now() - 3600_000))));
    write(path.join(dir, 'old-plan', 'results.json'), '{"plan":"old","arms":[]}');
    write(path.join(dir, 'a', 'b', 'training', 'metrics.jsonl'), '{"type":"train","step":7,"loss":3.5}\n{"type":"eval","step":7,"val_loss":3.9}\n');
    write(path.join(dir, 'a', 'b', 'training', 'run.lock'), String(process.pid));
    write(path.join(dir, 'interrupted', 'metrics.jsonl'), '');
    write(path.join(dir, 'interrupted', 'run.lock'), String(deadPid()));
    write(path.join(dir, 'done', 'run.json'), '{}');
    fs.mkdirSync(path.join(dir, 'done', 'final'));
    write(path.join(dir, 'too', 'deep', 'to', 'find', 'metrics.jsonl'), '');
    write(path.join(dir, 'x', 'checkpoints', 'step-1', 'metrics.jsonl'), '');
    const elsewhere = temporaryDir();
    write(path.join(elsewhere, 'metrics.jsonl'), '');
    fs.symlinkSync(elsewhere, path.join(dir, 'linked'));

    const list = listRuns(new RunsRoot(dir));
    const byPath = Object.fromEntries(list.map((e) => [e.path, e]));
    assert.deepEqual(Object.fromEntries(list.map((e) => [e.path, `${e.type} ${e.state}`])), {
      alive: 'plan running', killed: 'plan stopped', 'remote/fresh': 'plan running', 'remote/silent': 'plan stopped',
      'old-plan': 'plan finished', 'a/b/training': 'run running', interrupted: 'run stopped', done: 'run finished',
    });
    assert.equal(byPath['a/b/training'].step, 7);
    assert.equal(byPath['a/b/training'].loss, 3.5);
    assert.equal(byPath['a/b/training'].val_loss, 3.9);
  });

  test('a run directory that is the root itself is listed as ""', () => {
    const dir = temporaryDir();
    write(path.join(dir, 'metrics.jsonl'), '{"type":"train","step":1,"loss":2}\n');
    assert.deepEqual(listRuns(new RunsRoot(dir)).map((e) => [e.path, e.type]), [['', 'run']]);
  });

  test("FLOPs per step from run.json, as the plans' cost accounting counts them", () => {
    const dir = temporaryDir();
    const config = presetConfig('s', 8192);
    write(path.join(dir, 'run.json'), JSON.stringify({
      init: { config: configToJson(config), seed: 0 }, data: { input_length: 64, batch_size: 16 }, grad_accumulation: 2,
    }));
    const expected = t5TrainingStepFlops(config, { batch: 32, inputLength: 64, targetLength: spanCorruptionLengths(64).targetLength });
    assert.equal(runInfo(new RunsRoot(dir), fs.realpathSync(dir)).flops_per_step, expected);
    // A continued run reads its starting model's config, but only from inside the root.
    const root = temporaryDir();
    write(path.join(root, 'fused', 'config.json'), JSON.stringify(configToJson(config)));
    write(path.join(root, 'grown', 'run.json'), JSON.stringify({
      init: { from: path.join(root, 'fused'), optimizer_state: 'reset' }, data: { input_length: 64, batch_size: 16 }, grad_accumulation: 2,
    }));
    const rr = new RunsRoot(root);
    assert.equal(runInfo(rr, path.join(rr.real, 'grown')).flops_per_step, expected);
    write(path.join(dir, 'config.json'), JSON.stringify(configToJson(config)));
    write(path.join(root, 'outsider', 'run.json'), JSON.stringify({ init: { from: dir }, data: { input_length: 64, batch_size: 16 } }));
    assert.equal(runInfo(rr, path.join(rr.real, 'outsider')).flops_per_step, undefined);
  });
});
