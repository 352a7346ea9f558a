// Pre-training (or continued training) from settings: opens the data, builds or loads the model,
// and runs the training loop in the settings' run directory. What `deepfusion pretrain` does,
// callable from TypeScript.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, FileError, formatBytes } from '../errors';
import { FUSION_FILE, openWeights, readConfig, TOKENIZER_FILE } from '../io/checkpoint';
import { checkDirectoryPath, makeDirectory } from '../io/output';
import { parseConfig, type T5Config } from '../model/config';
import { countByPart } from '../model/summary';
import { loadTokenizer, openTrainingData, type DataProgress, type T5Tokenizer } from '../data';
import { train, type InitFromModel, type InitFromScratch, type StepProbe, type TrainEvent, type TrainResult } from './loop';
import { hasOptimizerState } from './optimizers/state_io';
import { presetConfig } from './presets';
import type { ModelChoice, PretrainSettings } from './settings';

export interface PretrainHooks {
  onEvent?: (event: TrainEvent) => void;
  /** Data preparation lines (tokenizer training, corpus tokenization). */
  onData?: DataProgress;
  /** Measured every `track_replicas_every` steps (src/analysis: the replicas of a fused model). */
  probe?: StepProbe;
}

export async function pretrain(s: PretrainSettings, hooks: PretrainHooks = {}): Promise<TrainResult> {
  // What can be checked cheaply is checked before the data is prepared (a tokenizer may take a
  // minute to train): the model to continue, and where the run goes.
  if ('from' in s.model) checkModelDir(s.model.from);
  if ('config' in s.model) checkFitsInMemory(parseConfig(s.model.config, s.model.source), s.model.source);
  const runDir = path.resolve(s.run);
  checkDirectoryPath(runDir, 'a training run');
  const spec = 'from' in s.model ? { ...s.data, tokenizer: tokenizerForModel(s.model.from, s.data.tokenizer) } : s.data;
  const data = await openTrainingData(spec, s, hooks.onData);
  const init = modelInit(s.model, data.tokenizer, s.seed);
  makeDirectory(runDir, 'a training run');
  // Every checkpoint carries the tokenizer, so each is a complete model directory.
  const tokenizerFile = path.join(runDir, TOKENIZER_FILE);
  data.tokenizer.save(tokenizerFile);
  const extraFiles: Record<string, string> = { [TOKENIZER_FILE]: tokenizerFile };
  // A model trained on from a fused one keeps its fusion record: which block came from which source.
  const fusion = 'from' in s.model ? path.join(s.model.from, FUSION_FILE) : undefined;
  if (fusion && fs.existsSync(fusion)) {
    extraFiles[FUSION_FILE] = path.join(runDir, FUSION_FILE);
    fs.copyFileSync(fusion, extraFiles[FUSION_FILE]);
  }
  return train({
    runDir, init, data: data.train, validation: data.validation, settings: s,
    extraFiles, onEvent: hooks.onEvent, probe: hooks.probe,
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
  const source = modelSource(model);
  const config = 'from' in model ? readConfig(model.from) : newModelConfig(model, tokenizer.vocabSize);
  checkVocabulary(config, source, tokenizer.vocabSize);
  for (const [field, id] of [['pad_token_id', tokenizer.padId], ['eos_token_id', tokenizer.eosId], ['decoder_start_token_id', tokenizer.padId]] as const) {
    if (config[field] !== id) {
      throw new ConfigError(source, field, `is ${config[field]} but the tokenizer's is ${id}`, `set "${field}" to ${id}`);
    }
  }
  return { config, source };
}

const modelSource = (model: ModelChoice): string =>
  'preset' in model ? `preset ${model.preset}` : 'from' in model ? path.join(model.from, 'config.json') : model.source;

/**
 * The config of a model trained from scratch (a preset, or a T5 config) with a tokenizer of
 * `vocabSize` ids; refused when the tokenizer's ids do not fit it or it cannot fit in memory.
 */
export function newModelConfig(model: Exclude<ModelChoice, { from: string }>, vocabSize: number): T5Config {
  const config = 'preset' in model ? presetConfig(model.preset, vocabSize) : parseConfig(model.config, model.source);
  checkVocabulary(config, modelSource(model), vocabSize);
  checkFitsInMemory(config, modelSource(model));
  return config;
}

function checkVocabulary(config: T5Config, source: string, vocabSize: number): void {
  if (config.vocab_size < vocabSize) {
    throw new ConfigError(source, 'vocab_size', `${config.vocab_size} is smaller than the tokenizer's ${vocabSize} ids`,
      `use a model with vocab_size ≥ ${vocabSize}, or the tokenizer it was trained with`);
  }
}

/** Bytes per parameter a training step holds at least: the weights, their gradient and two optimizer moments. */
const TRAINING_BYTES_PER_PARAMETER = 16;

/** Refuses a model whose training could not fit in this machine's memory, before anything is prepared. */
export function checkFitsInMemory(config: T5Config, source: string): void {
  const parameters = Object.values(countByPart(config)).reduce((a, b) => a + b, 0);
  const needed = parameters * TRAINING_BYTES_PER_PARAMETER;
  if (needed > os.totalmem()) {
    throw new ConfigError(source, 'd_model', `the model has ${parameters.toExponential(2)} parameters, and training it needs at ` +
      `least ${formatBytes(needed)} (weights, gradients, optimizer state), more than this machine's ${formatBytes(os.totalmem())}`,
      'choose a smaller model (d_model, d_ff, num_layers, vocab_size)');
  }
}

function modelInit(model: ModelChoice, tokenizer: T5Tokenizer, seed: number): InitFromScratch | InitFromModel {
  const { config } = modelConfig(model, tokenizer);
  if (!('from' in model)) return { config, seed };
  const state = model.optimizer_state === 'auto' ? (hasOptimizerState(model.from) ? 'carry' : 'reset') : model.optimizer_state;
  return { from: model.from, optimizerState: state };
}
