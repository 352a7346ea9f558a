// The data settings, declared once: what `deepfusion pretrain` and `eval` take as flags, a
// training config and a plan's `data:` section as fields.
import { defineSettings, int, text, type SettingValues } from '../util/settings';
import { DEFAULT_CORPUS } from './corpus_default';
import { DEFAULT_VOCAB_SIZE } from './tokenizer';

export const DATA_SETTINGS = defineSettings('data setting', {
  corpus: text({
    default: DEFAULT_CORPUS, group: 'Data', arg: '<c>',
    help: 'default (the bundled corpus: State of the Union addresses, Moby Dick, WordNet glosses) or a path to text files, a directory or JSONL',
  }),
  tokenizer: text({ default: 'default', group: 'Data', arg: '<t>', help: 'default (trained on the corpus, cached) or a tokenizer.json' }),
  vocab_size: int({ default: DEFAULT_VOCAB_SIZE, min: 128, max: 1 << 20, group: 'Data', arg: 'V', help: 'vocabulary of the default tokenizer' }),
  input_length: int({
    default: 128, min: 10, max: 65_536, flag: 'input-len', group: 'Data', arg: 'L',
    help: 'encoder input tokens (targets follow from span corruption)',
  }),
  eval_batches: int({ default: 8, min: 1, max: 100_000, group: 'Data', help: 'validation batches every evaluation uses (the same for every run)' }),
  eval_batch_size: int({
    min: 1, max: 65_536, group: 'Data', defaultText: 'the training batch size',
    help: 'sequences per validation batch',
  }),
});

/** The data a run reads and is evaluated on; `eval_batch_size` is filled in by whoever knows the batch size. */
export type DataSettings = Omit<SettingValues<typeof DATA_SETTINGS.decls>, 'eval_batch_size'> & { eval_batch_size: number };
