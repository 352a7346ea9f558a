// Pre-training (or continued training) from settings: opens the data, builds or loads the model,
// and runs the training loop in the settings' run directory. What `deepfusion pretrain` does,
// callable from TypeScript.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, FileError } from '../errors';
import { openWeights, readConfig, TOKENIZER_FILE } from '../io/checkpoint';
import { checkDirectoryPath, makeDirectory } from '../io/output';
import { parseConfig, type T5Config } from '../model/config';
import { loadTokenizer, openTrainingData, type DataProgress, type T5Tokenizer } from '../data';
import { train, type InitFromModel, type InitFromScratch, type TrainEvent, type TrainResult } from './loop';
import { hasOptimizerState } from './optimizers/state_io';
import { presetConfig } from './presets';
import type { ModelChoice, PretrainSettings } from './settings';

export interface PretrainHooks {
  onEvent?: (event: TrainEvent) => void;
  /** Data preparation lines (tokenizer training, corpus tokenization). */
  onData?: DataProgress;
}

export async function pretrain(s: PretrainSettings, hooks: PretrainHooks = {}): Promise<TrainResult> {
  // What can be checked cheaply is checked before the data is prepared (a tokenizer may take a
  // minute to train): the model to continue, and where the run goes.
  if ('from' in s.model) checkModelDir(s.model.from);
  if ('config' in s.model) parseConfig(s.model.config, s.model.source);
  const runDir = path.resolve(s.run);
  checkDirectoryPath(runDir, 'a training run');
  const spec = 'from' in s.model ? { ...s.data, tokenizer: tokenizerForModel(s.model.from, s.data.tokenizer) } : s.data;
  const data = await openTrainingData(spec, s, hooks.onData);
  const init = modelInit(s.model, data.tokenizer, s.seed);
  makeDirectory(runDir, 'a training run');
  // Every checkpoint carries the tokenizer, so each is a complete model directory.
  const tokenizerFile = path.join(runDir, TOKENIZER_FILE);
  data.tokenizer.save(tokenizerFile);
  return train({
    runDir, init, data: data.train, validation: data.validation, settings: s,
    extraFiles: { [TOKENIZER_FILE]: tokenizerFile }, onEvent: hooks.onEvent,
  });
}

/** Refuses a model directory whose config or weights are missing or do not match, before any work. */
export function checkModelDir(dir: string): void {
  openWeights(dir, readConfig(dir)).close();
}

/**
 * The tokenizer to use with the model in `dir`: its own tokenizer.json, which it was trained
 * with (token ids mean words only through it). `requested` is the data settings' tokenizer:
 * "default" means the model's own; another file must hold the same tokenizer. A model without a
 * tokenizer.json takes the requested one.
 */
export function tokenizerForModel(dir: string, requested: string): string {
  const own = path.join(dir, TOKENIZER_FILE);
  if (!fs.existsSync(own)) return requested;
  if (requested === 'default' || path.resolve(requested) === path.resolve(own)) return own;
  if (loadTokenizer(requested).fingerprint !== loadTokenizer(own).fingerprint) {
    throw new FileError(requested, `is not the tokenizer the model in ${dir} was trained with (${own}): the same ids would mean other words`,
      `leave the tokenizer out (the model's own is used), or give ${own}`);
  }
  return own;
}

/** The model config a choice gives with this tokenizer (for a model directory: its config). */
export function modelConfig(model: ModelChoice, tokenizer: T5Tokenizer): { config: T5Config; source: string } {
  const { config, source } = 'preset' in model
    ? { config: presetConfig(model.preset, tokenizer.vocabSize), source: `preset ${model.preset}` }
    : 'from' in model
      ? { config: readConfig(model.from), source: path.join(model.from, 'config.json') }
      : { config: parseConfig(model.config, model.source), source: model.source };
  if (config.vocab_size < tokenizer.vocabSize) {
    throw new ConfigError(source, 'vocab_size', `${config.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize} ids`,
      `use a model with vocab_size ≥ ${tokenizer.vocabSize}, or the tokenizer it was trained with`);
  }
  for (const [field, id] of [['pad_token_id', tokenizer.padId], ['eos_token_id', tokenizer.eosId], ['decoder_start_token_id', tokenizer.padId]] as const) {
    if (config[field] !== id) {
      throw new ConfigError(source, field, `is ${config[field]} but the tokenizer's is ${id}`, `set "${field}" to ${id}`);
    }
  }
  return { config, source };
}

function modelInit(model: ModelChoice, tokenizer: T5Tokenizer, seed: number): InitFromScratch | InitFromModel {
  const { config } = modelConfig(model, tokenizer);
  if (!('from' in model)) return { config, seed };
  const state = model.optimizer_state === 'auto' ? (hasOptimizerState(model.from) ? 'carry' : 'reset') : model.optimizer_state;
  return { from: model.from, optimizerState: state };
}
