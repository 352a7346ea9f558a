// A child process of a queue worker: trains the plan's tokenizer and tokenizes its corpus into
// this machine's cache once, before the first job that reads them, so that parallel jobs find
// them ready (and the worker's event loop, which keeps the jobs' locks, never does the work).
// Input: the data settings as JSON on argv; exit code 2 on a user error (message on stderr).
import { openTrainingData } from '../../data';
import type { DataSettings } from '../../data/settings';
import { UserError } from '../../errors';

async function main(): Promise<void> {
  const data = JSON.parse(process.argv[2]) as DataSettings;
  // What runPlanFile's prepareData does on the runner's machine.
  const opened = await openTrainingData(data, { batch_size: 1, seed: 0 }, (line) => console.error(line));
  await opened.train.open();
}

main().catch((err: unknown) => {
  console.error(err instanceof UserError ? `error: ${err.message}` : err);
  process.exitCode = err instanceof UserError ? 2 : 1;
});
