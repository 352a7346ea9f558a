import * as path from 'node:path';
import { replicaProbeFor } from '../../analysis';
import { describeBackend, initEngine } from '../../engine';
import type { TrainEvent } from '../../training/loop';
import { METRICS_FILE } from '../../training/metrics';
import { pretrain } from '../../training/pretrain';
import { PRETRAIN_SETTINGS, readTrainingConfigFile, resolvePretrainSettings } from '../../training/settings';
import type { Layer } from '../../util/settings';
import { VAL_LOSS_PLOT } from '../../training/run_dir';
import { describeSchedule } from '../../training/schedules';
import { parseCommandArgs, type Command } from '../command';
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
  --preset <name>, --config <file.json> (a training config: a JSON object with any of the
  settings below in snake_case, e.g. "batch_size", plus "model": a T5 config or its path;
  "optimizer" and "schedule" may be full specs; a Hugging Face config.json is accepted as the
  model to train; flags override it), or --from <model-dir>.

${PRETRAIN_SETTINGS.help(['Model', 'Training', 'Data', 'Run'])}

Example: deepfusion pretrain --preset s --steps 2000 --run runs/s`,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, { config: { type: 'string' }, ...PRETRAIN_SETTINGS.cliOptions() }, false);
    const layers: Layer[] = [{ values: PRETRAIN_SETTINGS.fromArgs(v), source: `deepfusion ${NAME}`, fromFlags: true }];
    if (v.config) layers.unshift({ values: readTrainingConfigFile(v.config), source: v.config });
    const settings = resolvePretrainSettings(layers);
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
          log(`training   ${settings.steps} steps × ${settings.batch_size}${settings.grad_accumulation > 1 ? `×${settings.grad_accumulation}` : ''} ` +
            `sequences of ${settings.data.input_length} tokens · ${settings.optimizer.name} · ${describeSchedule(settings.schedule)}` +
            `${settings.lr_offset ? ` at step ${settings.lr_offset > 0 ? '+' : ''}${settings.lr_offset}` : ''}` +
            `${settings.clip_norm !== null ? ` · clip ${settings.clip_norm}` : ''} · products in ${settings.precision} · backend ${describeBackend()}`);
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
    const from = 'from' in settings.model ? settings.model.from : undefined;
    const probe = replicaProbeFor(from, settings.track_replicas_every);
    if (settings.track_replicas_every > 0 && !probe) log('replicas   not tracked: the model is not a fused one (it has no fusion.json)');
    const r = await pretrain(settings, { onEvent, onData: log, probe });
    const last = r.evals.at(-1);
    console.log(`${r.cached ? 'already trained' : 'trained'}: step ${r.step}` +
      (last ? `, val_loss ${last.val_loss.toFixed(4)}, val_accuracy ${last.val_accuracy.toFixed(4)}` : '') + ` (backend ${backend})`);
    console.log(`model    ${r.finalDir}`);
    console.log(`metrics  ${path.join(r.runDir, METRICS_FILE)}`);
    console.log(`curve    ${path.join(r.runDir, VAL_LOSS_PLOT)}`);
  },
};
