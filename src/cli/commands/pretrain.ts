import * as path from 'node:path';
import { describeBackend, initEngine } from '../../engine';
import type { TrainEvent } from '../../training/loop';
import { METRICS_FILE } from '../../training/metrics';
import { pretrain } from '../../training/pretrain';
import { readTrainingConfigFile, resolvePretrainSettings, type PretrainFields } from '../../training/pretrain_settings';
import { VAL_LOSS_PLOT } from '../../training/run_dir';
import { describeSchedule } from '../../training/schedules';
import { numberOption, parseCommandArgs, type Command } from '../command';
import { formatCount } from '../format';
import { Progress } from '../progress';

const NAME = 'pretrain';

export const pretrainCommand: Command = {
  name: NAME,
  summary: 'pre-train a T5 on span corruption (resumable; metrics, checkpoints, validation curve)',
  help: `Usage: deepfusion pretrain (--preset <tiny|s|m|l> | --config <file.json> | --from <model-dir>) [options]

Trains a T5 with T5's objective (span corruption) and writes everything into a run directory:
  run.json            the settings a resume must match
  metrics.jsonl       one line per step (loss, lr, grad_norm, tokens, elapsed, tokens_per_s)
                      and per evaluation (val_loss, val_accuracy)
  checkpoints/step-N  the last checkpoints: model + tokenizer + optimizer + trainer state
  final/              the trained model (a Hugging Face T5 directory with tokenizer.json)
  val_loss.svg        the validation-loss curve
Run the same command again after an interruption and it resumes from the last checkpoint,
giving the same losses as an uninterrupted run; a finished run is not trained again, and a
larger --steps continues it.

Model (exactly one):
  --preset <name>          tiny (tests), s, m, l: d_model 128/256/512, 4+4 layers, gated-GELU;
                           fuse(s, s) has the shape of m. The vocabulary is the tokenizer's.
  --config <file.json>     a training config: a JSON object with any of the settings below
                           (snake_case: "preset", "model" (a T5 config or its path), "from",
                           "steps", "batch_size", "optimizer" (name or {"name": ..., hyperparameters}),
                           "schedule" (kind or full spec), "lr", ...). Flags override it. A
                           Hugging Face config.json is accepted as the model to train.
  --from <model-dir>       continue training a model (e.g. a fused one)
  --optimizer-state <s>    with --from: reset (default) or carry (the optimizer state saved with it)

Training:
  --steps N                updates in all (default 1000)
  --batch B                sequences per micro-batch (default 16)
  --grad-accumulation K    micro-batches per update (default 1)
  --input-len L            encoder input tokens (default 128; targets follow from span corruption)
  --optimizer <name>       adafactor (default, T5's settings) or adamw
  --schedule <kind>        inverse-sqrt (default), constant, linear, cosine
  --lr X                   peak learning rate (default 0.01 for adafactor: T5's 1/sqrt(max(t, 10k));
                           1e-3 for adamw); for inverse-sqrt, base = X·sqrt(warmup)
  --warmup N               warmup steps (default 10000 adafactor, 1000 adamw, inverse-sqrt)
  --lr-offset K            evaluate the schedule at step + K (negative: a higher rate after fusion)
  --clip-norm X            global gradient-norm limit (default none for adafactor, 1 for adamw)
  --dropout P              dropout rate (default: the model config's)
  --seed S                 initialisation, data order and dropout (default 0)

Data:
  --corpus <c>             default (the bundled corpus) or a path to text files (default: default)
  --tokenizer <t>          default (trained on the corpus, cached) or a tokenizer.json
  --vocab-size V           vocabulary of the default tokenizer (default 8192)
  --eval-batches N         validation batches (default 8, of --batch sequences)

Run:
  --run <dir>              run directory (default runs/pretrain-<preset>)
  --eval-every N           evaluate every N steps (default 100; also before the first and after the last)
  --checkpoint-every N     checkpoint every N steps (default 250)
  --keep-checkpoints N     checkpoints kept besides final/ (default 2)

Example: deepfusion pretrain --preset s --steps 2000 --run runs/s`,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, {
      config: { type: 'string' }, preset: { type: 'string' }, from: { type: 'string' }, 'optimizer-state': { type: 'string' },
      steps: { type: 'string' }, batch: { type: 'string' }, 'grad-accumulation': { type: 'string' }, 'input-len': { type: 'string' },
      optimizer: { type: 'string' }, schedule: { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' },
      'lr-offset': { type: 'string' }, 'clip-norm': { type: 'string' }, dropout: { type: 'string' }, seed: { type: 'string' },
      corpus: { type: 'string' }, tokenizer: { type: 'string' }, 'vocab-size': { type: 'string' }, 'eval-batches': { type: 'string' },
      run: { type: 'string' }, 'eval-every': { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'keep-checkpoints': { type: 'string' },
    }, false);
    const int = (name: string, min: number): number | undefined => {
      const value = v[name as keyof typeof v] as string | undefined;
      return value === undefined ? undefined : numberOption(NAME, name, value, 0, { integer: true, min });
    };
    const num = (name: string, min: number): number | undefined => {
      const value = v[name as keyof typeof v] as string | undefined;
      return value === undefined ? undefined : numberOption(NAME, name, value, 0, { min });
    };
    const flags: PretrainFields = {
      preset: v.preset, from: v.from, optimizer_state: v['optimizer-state'], steps: int('steps', 0), batch_size: int('batch', 1),
      grad_accumulation: int('grad-accumulation', 1), input_length: int('input-len', 1), optimizer: v.optimizer,
      schedule: v.schedule, lr: num('lr', 0), warmup: int('warmup', 0), lr_offset: int('lr-offset', -Number.MAX_SAFE_INTEGER),
      clip_norm: num('clip-norm', 0), dropout: num('dropout', 0), seed: int('seed', 0), corpus: v.corpus, tokenizer: v.tokenizer,
      vocab_size: int('vocab-size', 2), eval_batches: int('eval-batches', 1), run: v.run, eval_every: int('eval-every', 0),
      checkpoint_every: int('checkpoint-every', 0), keep_checkpoints: int('keep-checkpoints', 0),
    };
    const file = v.config ? readTrainingConfigFile(v.config) : {};
    const settings = resolvePretrainSettings(file, flags, v.config ? `${v.config} (with command-line flags)` : 'command line');
    const backend = await initEngine();
    const log = (line: string): void => { process.stderr.write(`${line}\n`); };
    let progress: Progress | undefined;
    let first: { tokens: number; elapsed: number } | undefined;
    const onEvent = (e: TrainEvent): void => {
      switch (e.type) {
        case 'start': {
          const c = e.config;
          const model = 'preset' in settings.model ? `preset ${settings.model.preset}` : 'from' in settings.model ? settings.model.from : 'custom config';
          log(`model      ${model}: ${formatCount(e.parameters)} parameters (d_model ${c.d_model}, ${c.num_heads} heads, ` +
            `d_ff ${c.d_ff}, ${c.num_layers}+${c.num_decoder_layers} layers, vocab ${c.vocab_size})`);
          log(`training   ${settings.steps} steps × ${settings.data.batch_size}${settings.grad_accumulation > 1 ? `×${settings.grad_accumulation}` : ''} ` +
            `sequences of ${settings.data.input_length} tokens · ${settings.optimizer.name} · ${describeSchedule(settings.schedule)}` +
            `${settings.lr_offset ? ` at step ${settings.lr_offset > 0 ? '+' : ''}${settings.lr_offset}` : ''}` +
            `${settings.clip_norm !== null ? ` · clip ${settings.clip_norm}` : ''} · backend ${describeBackend()}`);
          log(`run        ${path.resolve(settings.run)}${e.resumedFrom ? ` (resuming at step ${e.step} from ${e.resumedFrom})` : ''}`);
          progress = new Progress({ total: e.steps, start: e.step, label: 'train' });
          break;
        }
        case 'train':
          first ??= { tokens: e.tokens, elapsed: e.elapsed };
          progress?.update(e.step, {
            loss: e.loss.toFixed(3), lr: e.lr.toPrecision(3),
            'tok/s': formatCount(Math.round(e.elapsed > first.elapsed ? (e.tokens - first.tokens) / (e.elapsed - first.elapsed) : e.tokens_per_s)),
          });
          break;
        case 'eval':
          (progress ? progress.log.bind(progress) : log)(`step ${e.step}: val_loss ${e.val_loss.toFixed(4)} · val_accuracy ${e.val_accuracy.toFixed(4)}`);
          break;
        case 'checkpoint':
          progress?.log(`step ${e.step}: checkpoint ${e.dir}`);
          break;
        case 'done':
          progress?.finish();
          break;
      }
    };
    const r = await pretrain(settings, { onEvent, onData: log });
    const last = r.evals.at(-1);
    console.log(`${r.cached ? 'already trained' : 'trained'}: step ${r.step}` +
      (last ? `, val_loss ${last.val_loss.toFixed(4)}, val_accuracy ${last.val_accuracy.toFixed(4)}` : '') + ` (backend ${backend})`);
    console.log(`model    ${r.finalDir}`);
    console.log(`metrics  ${path.join(r.runDir, METRICS_FILE)}`);
    console.log(`curve    ${path.join(r.runDir, VAL_LOSS_PLOT)}`);
  },
};
