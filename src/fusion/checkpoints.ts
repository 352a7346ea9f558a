// Fusion between model directories, streamed: each fused tensor is built from the sources'
// tensors read one at a time and written before the next is built, so peak memory is about one
// fused tensor plus one source tensor whatever the model size. The output directory appears
// complete (config, weights, tokenizer, optimizer state) or not at all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError, UserError } from '../errors';
import {
  checkFinite, checkWeightsFinite, CONFIG_FILE, FUSION_FILE, loadModel, openWeights, readConfig, readJsonFile, TOKENIZER_FILE, WEIGHTS_FILE,
  writeConfig,
} from '../io/checkpoint';
import { writeDirAtomic, writeFileAtomic } from '../io/atomic';
import { checkOutputDir } from '../io/output';
import { SafetensorsReader, SafetensorsWriter } from '../io/safetensors';
import type { ForwardCase } from '../model/case';
import type { T5Config } from '../model/config';
import { disposeParams } from '../model/params';
import {
  OPTIMIZER_META_FILE, OPTIMIZER_TENSORS_FILE, type OptimizerSlot,
} from '../training/optimizers/types';
import { collapsedConfig } from './collapse';
import { fusedTensors, planFuse, planSelfFuse, type FuseOptions, type FusedTensor, type SelfFuseOptions } from './fuse';
import type { SymmetryNoise } from './noise';
import { buildTensor, sizeOf, type ReadTensor } from './place';
import type { FusionPlan, TensorPlan } from './plan';
import { fusionRecord, readFusionRecord, writeFusionRecord } from './record';
import { carriedMeta, slotPlans, type OptimizerMeta, type OptimizerStateMode } from './optimizer_state';
import { addWeighted, logitsChange, logitsOf, type LogitsChange } from './verify';

export interface OptimizerTransfer {
  mode: OptimizerStateMode;
  /** The slots of the sources' optimizer (needed for `carry`). */
  slotsFor?: (meta: OptimizerMeta) => readonly OptimizerSlot[];
}

export interface FusionResult {
  config: T5Config;
  parameters: number;
  /** The tokenizer copied from the sources, if they have one. */
  tokenizer?: string;
  /** The carried optimizer state's name and step (absent with `reset`). */
  optimizer?: OptimizerMeta;
}

interface Readers {
  /** The reader of plan source i. */
  of(source: number): SafetensorsReader;
  close(): void;
}

/** One reader per distinct directory (a self-fusion lists its source once per copy). */
function openReaders(dirs: readonly string[], open: (dir: string, source: number) => SafetensorsReader): Readers {
  const byDir = new Map<string, SafetensorsReader>();
  const close = () => { for (const r of byDir.values()) r.close(); };
  try {
    dirs.forEach((dir, i) => { if (!byDir.has(dir)) byDir.set(dir, open(dir, i)); });
  } catch (err) {
    close();
    throw err;
  }
  return { of: (source) => byDir.get(dirs[source]) as SafetensorsReader, close };
}

/**
 * The sources' common tokenizer file: all have byte-identical `tokenizer.json`, or none has one.
 * A model paired with another model's tokenizer would silently read the wrong tokens.
 */
export function commonTokenizer(dirs: readonly string[]): string | undefined {
  const files = dirs.map((d) => path.join(d, TOKENIZER_FILE));
  const present = files.map((f) => fs.existsSync(f));
  const fix = 'fuse models trained with the same tokenizer (copy the same tokenizer.json into every source)';
  const withIndex = present.indexOf(true);
  if (withIndex < 0) return undefined;
  const without = present.indexOf(false);
  if (without >= 0) {
    throw new FileError(dirs[without], `has no ${TOKENIZER_FILE} but ${files[withIndex]} exists`, fix);
  }
  const first = fs.readFileSync(files[0]);
  for (const f of files.slice(1)) {
    if (!first.equals(fs.readFileSync(f))) throw new FileError(f, `differs from ${files[0]}`, fix);
  }
  return files[0];
}

/** Streams tensors into a safetensors file in the plans' order; on any failure nothing is left. */
function writeStream(file: string, layout: readonly TensorPlan[], tensors: Iterable<FusedTensor>): void {
  const writer = new SafetensorsWriter(file, layout.map(({ name, shape }) => ({ name, shape })), { format: 'pt' });
  try {
    for (const { plan, data } of tensors) {
      // The sources are finite (checked as read), so only the fusion itself (noise) can overflow.
      checkFinite(file, plan.name, data, 'lower the noise: its std must be small next to the weights (e.g. paired:0.01)');
      writer.write(plan.name, data);
    }
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

function readOptimizerMeta(dir: string): OptimizerMeta {
  const file = path.join(dir, OPTIMIZER_META_FILE);
  if (!fs.existsSync(file)) {
    throw new FileError(dir, `has no ${OPTIMIZER_META_FILE} to carry`,
      'fuse checkpoints saved with their optimizer state, or use --optimizer-state reset');
  }
  const json = readJsonFile(file, 'the optimizer state description') as Partial<OptimizerMeta>;
  if (typeof json?.name !== 'string' || !Number.isInteger(json.step) || (json.step as number) < 0) {
    throw new FileError(file, 'needs "name" (a string) and "step" (an integer ≥ 0)',
      'use the optimizer.json the trainer wrote, or --optimizer-state reset');
  }
  return json as OptimizerMeta;
}

/** The carried optimizer state's tensors, one at a time, from the sources' optimizer files. */
function* carriedTensors(plans: readonly TensorPlan[], dirs: readonly string[]): Generator<FusedTensor> {
  const readers = openReaders(dirs, (dir) => SafetensorsReader.open(path.join(dir, OPTIMIZER_TENSORS_FILE)));
  try {
    const read: ReadTensor = ({ source, name, shape }) => {
      const reader = readers.of(source);
      const entry = reader.entries.get(name);
      if (!entry || entry.shape.join() !== shape.join()) {
        throw new FileError(reader.file, entry ? `tensor "${name}" has shape [${entry.shape}], expected [${shape}]`
          : `has no tensor "${name}"`, 'use the optimizer state saved with these weights, or --optimizer-state reset');
      }
      const data = reader.readFloat32(name);
      checkFinite(reader.file, name, data, 'use the optimizer state of a finite checkpoint, or --optimizer-state reset');
      return data;
    };
    for (const plan of plans) yield { plan, data: buildTensor(plan, read) };
  } finally {
    readers.close();
  }
}

/**
 * Writes a fused checkpoint: plan source i is read from `dirs[i]` (a self-fusion lists one
 * directory `copies` times).
 */
async function writeFusion(outDir: string, dirs: readonly string[], plan: FusionPlan,
  noise: SymmetryNoise | undefined, seed: number | undefined, optimizer: OptimizerTransfer): Promise<FusionResult> {
  const tokenizer = commonTokenizer(dirs);
  let carry: { meta: OptimizerMeta; plans: TensorPlan[] } | undefined;
  if (optimizer.mode === 'carry') {
    const meta = carriedMeta(dirs.map(readOptimizerMeta), dirs);
    if (!optimizer.slotsFor) throw new UserError('optimizer-state carry: no optimizer slots are known here. Fix: use reset');
    carry = { meta, plans: slotPlans(plan, optimizer.slotsFor(meta)) };
  }
  const sources = openReaders(dirs, (dir, i) => openWeights(dir, plan.sources[i]));
  const read: ReadTensor = ({ source, name }) => {
    const reader = sources.of(source);
    const data = reader.readFloat32(name);
    checkFinite(reader.file, name, data);
    return data;
  };
  try {
    await writeDirAtomic(outDir, (tmp) => {
      writeConfig(path.join(tmp, CONFIG_FILE), plan.config);
      writeFusionRecord(tmp, fusionRecord(plan, noise, seed));
      writeStream(path.join(tmp, WEIGHTS_FILE), plan.tensors, fusedTensors(plan, read, noise, seed));
      if (tokenizer) fs.copyFileSync(tokenizer, path.join(tmp, TOKENIZER_FILE));
      if (carry) {
        writeStream(path.join(tmp, OPTIMIZER_TENSORS_FILE), carry.plans, carriedTensors(carry.plans, dirs));
        writeFileAtomic(path.join(tmp, OPTIMIZER_META_FILE), `${JSON.stringify(carry.meta, null, 2)}\n`);
      }
    });
  } finally {
    sources.close();
  }
  return {
    config: plan.config,
    parameters: plan.tensors.reduce((n, t) => n + sizeOf(t.shape), 0),
    tokenizer,
    optimizer: carry?.meta,
  };
}

/** Where the fused model may be written (src/io/output.ts). */
export interface OutputOptions {
  /** Write even where it would replace a source or files that are not a model directory. */
  force?: boolean;
}

export interface FuseCheckpointsOptions extends Omit<FuseOptions, 'labels'>, OutputOptions {
  optimizer?: OptimizerTransfer;
}

/** `deepfusion fuse`: fuses the models in `dirs` into `outDir`. */
export async function fuseCheckpoints(dirs: readonly string[], outDir: string,
  options: FuseCheckpointsOptions = {}): Promise<FusionResult> {
  const configs = dirs.map(readConfig);
  const plan = planFuse(configs, { ...options, labels: dirs.map((d) => path.join(d, CONFIG_FILE)) });
  checkOutputDir(outDir, dirs, options.force ?? false);
  return writeFusion(outDir, dirs, plan, undefined, undefined, options.optimizer ?? { mode: 'reset' });
}

export interface SelfFuseCheckpointOptions extends SelfFuseOptions, OutputOptions {
  optimizer?: OptimizerTransfer;
}

/** `deepfusion self-fuse`: `copies` replicas of the model in `dir`, into `outDir`. */
export async function selfFuseCheckpoint(dir: string, outDir: string,
  options: SelfFuseCheckpointOptions = {}): Promise<FusionResult> {
  const plan = planSelfFuse(readConfig(dir), options);
  checkOutputDir(outDir, [dir], options.force ?? false);
  const dirs = plan.sources.map(() => dir);
  return writeFusion(outDir, dirs, plan, options.noise ?? { kind: 'none' }, options.seed ?? 0, options.optimizer ?? { mode: 'reset' });
}

/**
 * `deepfusion collapse-norms`: the grouped model in `dir` as a plain T5 in `outDir`. Weights,
 * tokenizer and optimizer state are unchanged and copied as they are; a fusion record stays, now
 * with joint norms (the blocks are where they were).
 */
export async function collapseNormsCheckpoint(dir: string, outDir: string, options: OutputOptions = {}): Promise<T5Config> {
  const config = collapsedConfig(readConfig(dir), path.join(dir, CONFIG_FILE));
  checkWeightsFinite(dir, config);
  checkOutputDir(outDir, [dir], options.force ?? false);
  const record = fs.existsSync(path.join(dir, FUSION_FILE)) ? readFusionRecord(dir) : undefined;
  await writeDirAtomic(outDir, (tmp) => {
    writeConfig(path.join(tmp, CONFIG_FILE), config);
    if (record) writeFusionRecord(tmp, { ...record, norm: 'joint' });
    for (const file of [WEIGHTS_FILE, TOKENIZER_FILE, OPTIMIZER_TENSORS_FILE, OPTIMIZER_META_FILE]) {
      if (fs.existsSync(path.join(dir, file))) fs.copyFileSync(path.join(dir, file), path.join(tmp, file));
    }
  });
  return config;
}

/**
 * Runs the references and the model in `dir` on one batch and compares the model's logits with
 * Σ weight · reference logits. Models are loaded one at a time, so memory holds one model.
 */
export function verifyCheckpoint(dir: string, references: ReadonlyArray<{ dir: string; weight: number }>,
  c: ForwardCase): LogitsChange {
  const logitsIn = (d: string): Float32Array => {
    const model = loadModel(d);
    try {
      return logitsOf(model, c);
    } finally {
      disposeParams(model.params);
    }
  };
  let expected: Float64Array | undefined;
  for (const r of references) expected = addWeighted(expected, logitsIn(r.dir), r.weight);
  return logitsChange(logitsIn(dir), expected as Float64Array);
}
