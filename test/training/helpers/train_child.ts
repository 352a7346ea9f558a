// A training process for the kill-and-resume tests: `node train_child.js <options.json>`.
// Prints one line per event; with "pauseAtStep" it prints "paused <step>" after that step and
// blocks, so the parent can kill it at a known point between checkpoints.
import * as fs from 'node:fs';
import { initEngine } from '../../../src/engine/backend';
import { train } from '../../../src/training/loop';
import { resumableRun, type ResumableRun } from './tiny_run';

async function main(): Promise<void> {
  const { pauseAtStep, ...run } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as ResumableRun & { pauseAtStep?: number };
  await initEngine('cpu');
  await train(resumableRun(run, {
    onEvent: (e) => {
      process.stdout.write(`${e.type} ${e.step}\n`);
      if (e.type === 'train' && e.step === pauseAtStep) {
        process.stdout.write(`paused ${e.step}\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      }
    },
  }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
