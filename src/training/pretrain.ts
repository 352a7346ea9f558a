// Pre-training (or continued training) from settings: opens the data, builds or loads the model,
// and runs the training loop in the settings' run directory. What `deepfusion pretrain` does,
// callable from TypeScript.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { FUSION_FILE, readConfig, TOKENIZER_FILE } from '../io/checkpoint';
import { parseConfig, type T5Config } from '../model/config';
import { openTrainingData, type DataProgress, type T5Tokenizer } from '../data';
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
  const data = await openTrainingData(s.data, s, hooks.onData);
  const runDir = path.resolve(s.run);
  fs.mkdirSync(runDir, { recursive: true });
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
    runDir, init: modelInit(s.model, data.tokenizer, s.seed), data: data.train, validation: data.validation, settings: s,
    extraFiles, onEvent: hooks.onEvent, probe: hooks.probe,
  });
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
