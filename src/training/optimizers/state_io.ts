// Optimizer state in a checkpoint directory: tensors in optimizer.safetensors (float32, so a
// round trip is bit-exact), {name, step, hyperparameters} in optimizer.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, type Tensor } from '../../engine/tf';
import { FileError } from '../../errors';
import { writeFileAtomic } from '../../io/atomic';
import { readJsonFile } from '../../io/checkpoint';
import { SafetensorsReader, SafetensorsWriter } from '../../io/safetensors';
import type { Params } from '../../model/params';
import { shapesOf, stateLayout } from './slots';
import { makeOptimizer, parseOptimizerSpec } from './spec';
import { OPTIMIZER_META_FILE, OPTIMIZER_TENSORS_FILE, type Optimizer, type OptimizerMeta, type OptimizerState } from './types';

export function saveOptimizerState(dir: string, optimizer: Optimizer, state: OptimizerState): void {
  const layout = Object.entries(state.tensors).map(([name, t]) => ({ name, shape: t.shape }));
  const writer = new SafetensorsWriter(path.join(dir, OPTIMIZER_TENSORS_FILE), layout, { format: 'pt' });
  for (const { name } of layout) writer.write(name, state.tensors[name].dataSync() as Float32Array);
  writer.finish();
  const meta: OptimizerMeta = { name: state.name, step: state.step, hyperparameters: { ...optimizer.hyperparameters } };
  writeFileAtomic(path.join(dir, OPTIMIZER_META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}

/**
 * The optimizer an optimizer.json describes (name + hyperparameters), e.g. for the slots of
 * state to carry through fusion. `file` names it in errors.
 */
export function optimizerOfMeta(meta: Pick<OptimizerMeta, 'name' | 'hyperparameters'>, file: string): Optimizer {
  return makeOptimizer(parseOptimizerSpec({ ...meta.hyperparameters, name: meta.name }, file));
}

export function hasOptimizerState(dir: string): boolean {
  return fs.existsSync(path.join(dir, OPTIMIZER_TENSORS_FILE)) && fs.existsSync(path.join(dir, OPTIMIZER_META_FILE));
}

/**
 * Loads the state `optimizer` needs for `params` from a checkpoint directory, refusing state of
 * another optimizer or another model (every slot tensor present with its shape, none extra).
 */
export function loadOptimizerState(dir: string, optimizer: Optimizer, params: Params): OptimizerState {
  const fix = 'start with fresh optimizer state (optimizer state "reset") or use the checkpoint this state belongs to';
  const metaFile = path.join(dir, OPTIMIZER_META_FILE);
  const meta = readJsonFile(metaFile, 'the optimizer state') as Partial<OptimizerMeta>;
  if (meta.name !== optimizer.name) {
    throw new FileError(metaFile, `holds state of optimizer ${JSON.stringify(meta.name)}, but this run uses ${optimizer.name}`,
      `use the ${String(meta.name)} optimizer, or ${fix}`);
  }
  if (typeof meta.step !== 'number' || !Number.isInteger(meta.step) || meta.step < 0) {
    throw new FileError(metaFile, `field "step" must be an integer ≥ 0, got ${JSON.stringify(meta.step)}`, fix);
  }
  const file = path.join(dir, OPTIMIZER_TENSORS_FILE);
  const reader = SafetensorsReader.open(file);
  const tensors: Record<string, Tensor> = {};
  try {
    const layout = stateLayout(optimizer.slots, shapesOf(params));
    for (const { name, shape } of layout) {
      const e = reader.entries.get(name);
      if (!e || e.shape.length !== shape.length || e.shape.some((n, i) => n !== shape[i])) {
        throw new FileError(file, e ? `tensor "${name}" has shape [${e.shape}], the model needs [${shape}]`
          : `tensor "${name}" is missing`, fix);
      }
      tensors[name] = tf.tensor(reader.readFloat32(name), shape, 'float32');
    }
    const expected = new Set(layout.map((l) => l.name));
    const extra = reader.names().find((n) => !expected.has(n));
    if (extra) throw new FileError(file, `tensor "${extra}" belongs to no parameter and slot of this model and optimizer`, fix);
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  } finally {
    reader.close();
  }
  return { name: optimizer.name, step: meta.step, tensors };
}
