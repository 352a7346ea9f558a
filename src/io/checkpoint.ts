// A model directory in the Hugging Face layout: config.json + model.safetensors
// (+ tokenizer.json and training state, written by other layers).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../engine/tf';
import { FileError } from '../errors';
import { configToJson, parseConfig, type T5Config } from '../model/config';
import { paramSpecs, TIED_EMBEDDING_COPIES, type Params } from '../model/params';
import { writeDirAtomic, writeFileAtomic } from './atomic';
import { readTextFile } from './read_text';
import { SafetensorsReader, SafetensorsWriter } from './safetensors';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
/** The tokenizer the model was trained with; it travels with the model (fusion copies it). */
export const TOKENIZER_FILE = 'tokenizer.json';
/**
 * How a fused model was made (src/fusion/record.ts): its sources, weights and norms, from which the
 * fusion plan says which block of every tensor came from which source. A model trained on from a
 * fused one keeps it, so its checkpoints can be analysed block by block (docs/dynamics.md).
 */
export const FUSION_FILE = 'fusion.json';

export interface Model {
  config: T5Config;
  params: Params;
}

export function readJsonFile(file: string, what: string): unknown {
  const text = readTextFile(file, `check that ${what} exists at this path`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileError(file, `is not valid JSON (${(err as Error).message})`, `repair the JSON of ${what}`);
  }
}

export function readConfig(dir: string): T5Config {
  const file = path.join(dir, CONFIG_FILE);
  const fix = 'pass a model directory holding config.json and model.safetensors';
  if (!fs.existsSync(dir)) throw new FileError(dir, 'does not exist', fix);
  if (!fs.statSync(dir).isDirectory()) throw new FileError(dir, 'is a file, not a model directory', fix);
  return parseConfig(readJsonFile(file, 'the model config'), file);
}

/**
 * Checks a weights file against the parameters a config implies and returns the reader:
 * every expected tensor present with its shape, nothing unexpected besides HF's tied copies.
 */
export function openWeights(dir: string, config: T5Config): SafetensorsReader {
  const file = path.join(dir, WEIGHTS_FILE);
  const reader = SafetensorsReader.open(file);
  try {
    const specs = paramSpecs(config);
    const expected = new Set(specs.map((s) => s.name));
    for (const spec of specs) {
      const e = reader.entries.get(spec.name);
      if (!e) {
        throw new FileError(file, `tensor "${spec.name}" is missing (config.json implies it)`,
          'use the weights that belong to this config.json, or correct the config');
      }
      if (e.shape.length !== spec.shape.length || e.shape.some((n, i) => n !== spec.shape[i])) {
        throw new FileError(file, `tensor "${spec.name}" has shape [${e.shape}] but config.json implies ` +
          `[${spec.shape}]`, 'use the weights that belong to this config.json, or correct the config');
      }
    }
    for (const name of reader.names()) {
      if (!expected.has(name) && !TIED_EMBEDDING_COPIES.includes(name)) {
        throw new FileError(file, `tensor "${name}" is not a parameter of the T5 described by config.json`,
          'check num_layers / num_decoder_layers / feed_forward_proj / tie_word_embeddings in config.json');
      }
    }
    return reader;
  } catch (err) {
    reader.close();
    throw err;
  }
}

/** The index of the first NaN or ±Infinity in `data`, or -1. */
export function firstNonFinite(data: Float32Array): number {
  // x − x is 0 for every finite x and NaN for NaN and ±Infinity.
  for (let i = 0; i < data.length; i++) if (data[i] - data[i] !== 0) return i;
  return -1;
}

/**
 * Refuses a tensor holding NaN or ±Infinity: a model with one computes NaN wherever it reaches,
 * so it is never loaded, fused or written.
 */
export function checkFinite(file: string, name: string, data: Float32Array, fix = FIX_NON_FINITE): void {
  const i = firstNonFinite(data);
  if (i < 0) return;
  let count = 0;
  for (let j = i; j < data.length; j++) if (data[j] - data[j] !== 0) count++;
  throw new FileError(file, `tensor "${name}" holds ${count} non-finite value${count === 1 ? '' : 's'} (${data[i]} at index ${i})`, fix);
}

const FIX_NON_FINITE = 'use a checkpoint from before the weights overflowed (training stops before a non-finite update, so an ' +
  'earlier checkpoint of the run is finite), or re-export the model';

/** Every tensor of the weights file read and checked to be finite (a model copied as it is must be usable). */
export function checkWeightsFinite(dir: string, config: T5Config): void {
  const reader = openWeights(dir, config);
  try {
    for (const spec of paramSpecs(config)) checkFinite(reader.file, spec.name, reader.readFloat32(spec.name));
  } finally {
    reader.close();
  }
}

export function loadModel(dir: string): Model {
  const config = readConfig(dir);
  const reader = openWeights(dir, config);
  const params: Params = {};
  try {
    for (const spec of paramSpecs(config)) {
      const data = reader.readFloat32(spec.name);
      checkFinite(reader.file, spec.name, data);
      params[spec.name] = tf.tensor(data, spec.shape, 'float32');
    }
    return { config, params };
  } catch (err) {
    for (const t of Object.values(params)) t.dispose();
    throw err;
  } finally {
    reader.close();
  }
}

export function writeConfig(file: string, config: T5Config): void {
  writeFileAtomic(file, `${JSON.stringify(configToJson(config), null, 2)}\n`);
}

/** Writes parameters in canonical order, streaming one tensor at a time. */
export function writeWeights(file: string, config: T5Config, params: Params): void {
  const specs = paramSpecs(config);
  const writer = new SafetensorsWriter(file, specs, { format: 'pt' });
  for (const spec of specs) {
    const t = params[spec.name];
    if (!t) {
      writer.abort();
      throw new Error(`writeWeights: parameter "${spec.name}" is missing from the parameter map`);
    }
    writer.write(spec.name, t.dataSync() as Float32Array);
  }
  writer.finish();
}

/**
 * Saves a model directory atomically; `extraFiles` (e.g. tokenizer.json) are copied in and
 * `fill` may write more (training state), so the directory appears complete or not at all.
 */
export async function saveModel(dir: string, model: Model, extraFiles: Record<string, string> = {},
  fill?: (tmpDir: string) => void): Promise<void> {
  await writeDirAtomic(dir, (tmp) => {
    writeConfig(path.join(tmp, CONFIG_FILE), model.config);
    writeWeights(path.join(tmp, WEIGHTS_FILE), model.config, model.params);
    for (const [name, source] of Object.entries(extraFiles)) fs.copyFileSync(source, path.join(tmp, name));
    fill?.(tmp);
  });
}
