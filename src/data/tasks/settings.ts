// Which tasks a fine-tuning run learns and how much of each it reads, declared once: the flags
// of `deepfusion finetune`, a plan's `finetune:` fields and the typed values derive from this.
import { custom, defineSettings, int, SettingProblem, text, type SettingValues } from '../../util/settings';

const isNameList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '');

export const TASK_SETTINGS = defineSettings('fine-tuning setting', {
  suite: text({
    group: 'Tasks', arg: '<name>', defaultText: 'the suite default, unless --task or --glue is given',
    help: 'a suite of bundled tasks: default (imdb, spam, brown, afinn, wic) or quick (imdb, spam, afinn: a few minutes)',
  }),
  task: custom<string[] | undefined>({
    group: 'Tasks', arg: '<a,b>',
    help: 'tasks by name: bundled (imdb, spam, brown, afinn, wic) or, with --glue, GLUE\'s (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli)',
    parse: (v) => {
      const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;
      if (!isNameList(list)) throw new SettingProblem(`expected task names, got ${JSON.stringify(v)}`, 'a task name or a list of them, e.g. imdb,spam');
      return list;
    },
  }),
  glue: text({
    group: 'Tasks', arg: '<dir>',
    help: 'a GLUE directory as GLUE\'s download script lays it out (CoLA/train.tsv, …): its tasks, scored on dev with GLUE\'s metrics',
  }),
  train_cap: int({ default: 5000, min: 1, max: 100_000_000, group: 'Tasks', help: 'training examples per task at most (a fixed sample, chosen by hash)' }),
  validation_cap: int({ default: 500, min: 1, max: 100_000_000, group: 'Tasks', help: 'validation examples per task at most (they choose the checkpoint)' }),
  test_cap: int({ default: 1000, min: 1, max: 100_000_000, group: 'Tasks', help: 'examples per test set at most (the reported score)' }),
  input_length: int({
    default: 128, min: 8, max: 65_536, flag: 'input-len', group: 'Tasks', arg: 'L',
    help: 'encoder input tokens at most: longer inputs are cut, a task of shorter inputs uses fewer',
  }),
});

export type TaskSettings = SettingValues<typeof TASK_SETTINGS.decls>;
export type TaskCaps = Pick<TaskSettings, 'train_cap' | 'validation_cap' | 'test_cap'>;
