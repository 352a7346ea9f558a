// A worker process: receives one job from its parent, runs it, reports the result, exits. It
// also exits when its parent dies, so a killed `deepfusion run` leaves no job running on.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WorkerMessage } from './executor';
import type { JobSpec, NodeKinds } from './job';
import { reportedError } from '../errors';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(m, () => resolve()));
}

/**
 * Kills this process once its parent is gone. A thread of its own watches, because the main
 * thread may be inside a long computation (a training step, tokenizer training) and would not see
 * the IPC channel close until it ends. The job's partial work stays resumable, as after any kill.
 */
function exitWithParent(): void {
  const parent = process.ppid;
  new Worker(`setInterval(() => { if (process.ppid !== ${parent}) process.kill(${process.pid}, 'SIGKILL'); }, 200);`,
    { eval: true }).unref();
}

exitWithParent();
process.once('message', (job: JobSpec) => {
  void (async () => {
    try {
      // require, not import(): the project compiles to CommonJS and the default names a directory.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { nodeKinds } = require(process.env.DEEPFUSION_KINDS_MODULE ?? path.join(__dirname, 'kinds')) as { nodeKinds: NodeKinds };
      const kind = nodeKinds[job.kind];
      if (!kind) throw new Error(`unknown node kind "${job.kind}"`);
      const result = await kind.run(job, (event) => { void send({ type: 'event', event }); });
      await send({ type: 'result', result });
    } catch (err) {
      console.error(err);
      const reported = reportedError(err);
      await send({ type: 'error', message: (reported ?? (err as Error)).message ?? String(err), userError: reported?.exitCode === 2 });
    }
    process.disconnect?.();
  })();
});
