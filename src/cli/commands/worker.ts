import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { defaultCacheDir } from '../../io/cache';
import { QueueWorker } from '../../plans/distributed/queue_worker';
import { defaultStore, redactUrl, WORKER_SETTINGS } from '../../plans/distributed/settings';
import { parseCommandArgs, type Command } from '../command';

const NAME = 'worker';

export const workerCommand: Command = {
  name: NAME,
  summary: 'run plan jobs from a queue on this machine (one per machine; see run --queue)',
  help: `Usage: deepfusion worker --queue redis://host:6379 [--store <dir|s3://bucket/prefix>] [--slots N] [--work-dir <dir>]

Takes plan jobs from the queue that \`deepfusion run <plan> --queue ...\` fills and runs them here,
with the same code as a local run (a process per job, its log in <work-dir>/jobs/<key>/log.txt).
A job's inputs come from the store and its output goes there; while it trains, its checkpoints
are published too, so that when this machine is lost another worker resumes the job where the
last checkpoint left it. Stop with Ctrl-C: running jobs publish their last checkpoint and go back
to the queue. Start one worker per machine; --slots runs several jobs at once, each with
--threads threads. Every machine needs the same deepfusion version and the same --store.
See docs/distributed.md.

${WORKER_SETTINGS.help(['Cluster', 'Worker'])}

Example: Redis on the machine "head", a directory every machine mounts as the store:
  head$  redis-server --bind 0.0.0.0 --requirepass secret --save '' --appendonly no
  each$  deepfusion worker --queue redis://:secret@head:6379 --store /mnt/shared/deepfusion
  head$  deepfusion run demo --queue redis://:secret@head:6379 --store /mnt/shared/deepfusion`,
  async run(argv) {
    const { values } = parseCommandArgs(NAME, argv, WORKER_SETTINGS.cliOptions(), false);
    const s = WORKER_SETTINGS.resolve([{ values: WORKER_SETTINGS.fromArgs(values), source: `deepfusion ${NAME}`, fromFlags: true }]);
    if (s.queue === undefined) throw new UserError(`deepfusion ${NAME}: --queue is required (redis://host:port). See: deepfusion ${NAME} --help`);
    const threads = s.threads ?? Math.max(1, Math.floor(os.availableParallelism() / s.slots));
    const name = s.name ?? `${os.hostname()}:${process.pid}`;
    const workDir = path.resolve(s.work_dir ?? path.join(defaultCacheDir(), 'work'));
    const log = (line: string): void => { console.error(`${new Date().toISOString().slice(11, 19)} ${line}`); };
    const worker = await QueueWorker.start({
      queue: s.queue, store: s.store ?? defaultStore(), slots: s.slots, threads, workDir, name, stallSeconds: s.stall_seconds, log,
    });
    log(`worker ${name}: ${s.slots} slot${s.slots > 1 ? 's' : ''} × ${threads} thread${threads > 1 ? 's' : ''} · queue ${redactUrl(s.queue)} · ` +
      `store ${worker.storeDescription} · work dir ${workDir}`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (): void => {
        if (stopping) process.exit(130);
        stopping = true;
        log('stopping: running jobs publish their last checkpoint and go back to the queue (Ctrl-C again to quit at once)');
        void worker.stop().then(resolve, (err: unknown) => {
          log(`stopping failed: ${(err as Error).message}`);
          process.exit(1);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
