// Times T5 training steps (forward, backward, optimizer update) on the active backend and
// reports throughput, achieved FLOP/s and memory. `deepfusion bench` and bench/ print it; the
// PyTorch peer (bench/torch_t5.py) runs the same model from what `saveBenchInputs` writes.
import * as path from 'node:path';
import { tf, type Tensor } from '../engine/tf';
import { t5TrainingStepFlops, type StepShape } from '../model/flops';
import { NativeBackend } from '../engine/native';
import { startKernelProfile, type KernelProfile, type KernelTime } from '../engine/profile';
import { recordProducts, timeProductsAlone, type ProductRecording, type ProductTime } from '../engine/native/products';
import { writeFileAtomic } from '../io/atomic';
import { writeWeights } from '../io/checkpoint';
import { writeSafetensors } from '../io/safetensors';
import { configToJson, type T5Config } from '../model/config';
import { countParams, disposeParams, initParams, type Params } from '../model/params';
import { lossAndGrads, shiftRight, type Seq2SeqBatch } from '../model/t5';
import { Rng } from '../util/rng';
import { withPrecision, type Precision } from '../engine/precision';
import { bool, defineSettings, int, num, oneOf } from '../util/settings';
import { median } from '../util/stats';
import { ADAFACTOR_DEFAULTS } from './optimizers/adafactor';
import { shapesOf, stateLayout } from './optimizers/slots';
import { makeOptimizer, type OptimizerSpec } from './optimizers/spec';
import type { Optimizer } from './optimizers/types';
import { PRECISION_SETTING } from './settings';

/**
 * `adam` / `adafactor`: the project's optimizers as training uses them (makeOptimizer; Adam is
 * AdamW with weight decay 0, Adafactor has T5's defaults); `tf-adam` / `sgd`: tf.train.adam /
 * tf.train.sgd, op by op, for comparison.
 */
export const BENCH_OPTIMIZERS = ['adam', 'adafactor', 'tf-adam', 'sgd'] as const;
export type BenchOptimizer = (typeof BENCH_OPTIMIZERS)[number];

/** What `deepfusion bench` takes: a model shape, a batch shape, the optimizer and how long to measure. */
export const BENCH_SETTINGS = defineSettings('bench setting', {
  d_model: int({ default: 512, min: 1, max: 65_536, group: 'Shape', help: 'model width' }),
  heads: int({ default: 8, min: 1, max: 1024, group: 'Shape', help: 'attention heads' }),
  d_kv: int({ min: 1, max: 65_536, group: 'Shape', defaultText: 'd-model / heads', help: 'width of one head' }),
  d_ff: int({ default: 2048, min: 1, max: 1 << 20, group: 'Shape', help: 'feed-forward width' }),
  layers: int({ default: 4, min: 1, max: 1024, group: 'Shape', help: 'encoder layers' }),
  decoder_layers: int({ min: 1, max: 1024, group: 'Shape', defaultText: 'layers', help: 'decoder layers' }),
  vocab: int({ default: 8192, min: 3, max: 1 << 22, group: 'Shape', help: 'vocabulary' }),
  ff: oneOf(['gated-gelu', 'relu'] as const, { default: 'gated-gelu', group: 'Shape', help: 'feed-forward kind (T5 v1.1 or v1.0)' }),
  tied: bool({ default: false, group: 'Shape', help: 'tie the output layer to the embedding' }),
  batch: int({ default: 16, min: 1, max: 65_536, group: 'Shape', help: 'sequences per step' }),
  input_len: int({ default: 128, min: 1, max: 65_536, group: 'Shape', help: 'encoder tokens per sequence' }),
  target_len: int({ default: 32, min: 1, max: 65_536, group: 'Shape', help: 'decoder tokens per sequence' }),
  optimizer: oneOf(BENCH_OPTIMIZERS, {
    default: 'adam', group: 'Training',
    help: "adam / adafactor: the project's optimizers as pretrain runs them (Adam is AdamW with weight decay 0, Adafactor has " +
      "T5's settings), one fused kernel per parameter; tf-adam / sgd: tf.train.adam / tf.train.sgd, op by op",
  }),
  lr: num({ default: 1e-3, min: 0, group: 'Training', help: 'learning rate' }),
  steps: int({ default: 6, min: 1, max: 100_000, group: 'Training', help: 'measured steps' }),
  warmup: int({ default: 1, min: 0, max: 100_000, group: 'Training', help: 'unmeasured steps first' }),
  seed: int({ default: 0, min: 0, max: 2 ** 31 - 1, group: 'Training', help: 'initialisation and batch' }),
  precision: PRECISION_SETTING,
});

export interface OptimizerSettings {
  name: BenchOptimizer;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface BenchOptions {
  config: T5Config;
  shape: StepShape;
  optimizer: OptimizerSettings;
  steps: number;
  warmup: number;
  seed: number;
  /** Precision of the matrix products (src/engine/precision.ts); default fp32. */
  precision?: Precision;
  /** Time every kernel during the measured steps (adds a little overhead per op). */
  profile?: boolean;
  /** Record every matrix product of the measured steps, then time each shape alone (native backend). */
  products?: boolean;
  onStep?: (record: StepRecord) => void;
}

export interface StepRecord {
  /** 1-based measured step, or 0 for warm-up steps. */
  step: number;
  seconds: number;
  /** CPU time of the process during the step (all threads): how many cores the step kept busy. */
  cpuSeconds: number;
  loss: number;
  /** tf.memory() after the step: must not grow from step to step. */
  tensors: number;
  bytes: number;
  /** Most bytes held by live tensors during the step (native backend only). */
  peakTensorBytes: number | null;
}

export interface BenchResult {
  records: StepRecord[];
  stepSecondsMedian: number;
  cpuSecondsMedian: number;
  tokensPerStep: number;
  tokensPerSecond: number;
  flopsPerStep: number;
  gflops: number;
  paramCount: number;
  /** Parameters, gradients and optimizer state, bytes (float32). */
  stateBytes: { params: number; grads: number; optimizer: number };
  /** Whether tensor count and bytes stayed the same after every measured step. */
  memoryStable: boolean;
  peakRssMb: number;
  /** Per-kernel totals over the measured steps, when `profile` was set. */
  kernels: KernelTime[] | null;
  /** The measured steps' matrix products, in the steps and alone, when `products` was set. */
  products: ProductTime[] | null;
}

export interface BatchArrays {
  inputIds: number[][];
  attentionMask: number[][];
  decoderInputIds: number[][];
  labels: number[][];
}

/** Token ids uniform over the vocabulary (minus pad and EOS), no padding: a packed T5 batch, the same for a seed. */
export function syntheticBatch(config: T5Config, shape: StepShape, seed: number): BatchArrays {
  const rng = Rng.fromSeed(seed);
  const ids = (len: number): number[] => Array.from({ length: len }, () => 2 + rng.integer(config.vocab_size - 2));
  const inputIds = Array.from({ length: shape.batch }, () => ids(shape.inputLength));
  const labels = Array.from({ length: shape.batch }, () => ids(shape.targetLength));
  return {
    inputIds,
    attentionMask: inputIds.map((row) => row.map(() => 1)),
    decoderInputIds: shiftRight(labels, config),
    labels,
  };
}

function toTensors(b: BatchArrays): Seq2SeqBatch {
  return {
    inputIds: tf.tensor2d(b.inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, undefined, 'float32'),
    decoderInputIds: tf.tensor2d(b.decoderInputIds, undefined, 'int32'),
    labels: tf.tensor2d(b.labels, undefined, 'int32'),
  };
}

/** Trains a parameter map one step at a time; owns the parameters it was given. */
interface Trainer {
  /** One forward/backward/update on `batch`; returns the loss. */
  step(batch: Seq2SeqBatch): number;
  /** Bytes of optimizer state (float32). */
  optimizerBytes: number;
  dispose(): void;
}

/** The project optimizer a bench optimizer name stands for. */
function projectOptimizer(o: OptimizerSettings): Optimizer {
  const spec: OptimizerSpec = o.name === 'adafactor' ? ADAFACTOR_DEFAULTS
    : { name: 'adamw', beta1: o.beta1, beta2: o.beta2, eps: o.epsilon, weight_decay: 0 };
  return makeOptimizer(spec);
}

/** A project optimizer over plain tensors (the parameter map is replaced every step). */
function projectTrainer(config: T5Config, initial: Params, o: OptimizerSettings, precision: Precision): Trainer {
  const optimizer = projectOptimizer(o);
  let params = initial;
  let state = optimizer.init(params);
  return {
    optimizerBytes: stateLayout(optimizer.slots, shapesOf(params)).reduce((n, s) => n + 4 * tf.util.sizeFromShape(s.shape), 0),
    step(batch) {
      const { loss, grads } = withPrecision(precision, () => tf.tidy(() => lossAndGrads(config, params, batch)));
      try {
        ({ params, state } = optimizer.apply(params, grads, state, { lr: o.learningRate }));
        return loss.dataSync()[0];
      } finally {
        loss.dispose();
        disposeParams(grads);
      }
    },
    dispose() {
      disposeParams(params);
      disposeParams(state.tensors);
    },
  };
}

/** A tf.train optimizer over tf.Variables. */
function tfOptimizerTrainer(config: T5Config, initial: Params, o: OptimizerSettings, precision: Precision): Trainer {
  const optimizer = o.name === 'tf-adam' ? tf.train.adam(o.learningRate, o.beta1, o.beta2, o.epsilon) : tf.train.sgd(o.learningRate);
  const optimizerBytes = o.name === 'tf-adam' ? 8 * countParams(initial) : 0;
  const variables: Params = {};
  const names = new Map<string, string>();
  for (const [name, t] of Object.entries(initial)) {
    const variable = tf.variable(t, true);
    variables[name] = variable;
    names.set(name, variable.name);
    t.dispose();
  }
  return {
    optimizerBytes,
    step(batch) {
      const loss = tf.tidy(() => {
        const { loss: l, grads } = withPrecision(precision, () => lossAndGrads(config, variables, batch));
        optimizer.applyGradients(Object.entries(grads).map(([n, g]) => ({ name: names.get(n)!, tensor: g })));
        return l;
      });
      const value = loss.dataSync()[0];
      loss.dispose();
      return value;
    },
    dispose() {
      optimizer.dispose();
      disposeParams(variables);
    },
  };
}

/**
 * Writes what the PyTorch peer needs to train the same model from the same start: config.json
 * (HF fields plus a "bench" entry with the optimizer), model.safetensors, batch.safetensors.
 */
export function saveBenchInputs(dir: string, opts: BenchOptions): void {
  const params = initParams(opts.config, opts.seed);
  try {
    writeFileAtomic(path.join(dir, 'config.json'),
      `${JSON.stringify({ ...configToJson(opts.config), bench: opts.optimizer }, null, 2)}\n`);
    writeWeights(path.join(dir, 'model.safetensors'), opts.config, params);
  } finally {
    disposeParams(params);
  }
  const b = syntheticBatch(opts.config, opts.shape, opts.seed);
  const flat = (rows: number[][]): Float32Array => Float32Array.from(rows.flat());
  const shape = (rows: number[][]): number[] => [rows.length, rows[0]?.length ?? 0];
  writeSafetensors(path.join(dir, 'batch.safetensors'), [
    { name: 'input_ids', shape: shape(b.inputIds), data: flat(b.inputIds) },
    { name: 'attention_mask', shape: shape(b.attentionMask), data: flat(b.attentionMask) },
    { name: 'decoder_input_ids', shape: shape(b.decoderInputIds), data: flat(b.decoderInputIds) },
    { name: 'labels', shape: shape(b.labels), data: flat(b.labels) },
  ]);
}

export function benchmarkTraining(opts: BenchOptions): BenchResult {
  const { config, shape } = opts;
  const backend = tf.backend();
  const native = backend instanceof NativeBackend ? backend : null;
  const init = initParams(config, opts.seed);
  const paramCount = countParams(init);
  const trainer = opts.optimizer.name === 'adam' || opts.optimizer.name === 'adafactor'
    ? projectTrainer(config, init, opts.optimizer, opts.precision ?? 'fp32')
    : tfOptimizerTrainer(config, init, opts.optimizer, opts.precision ?? 'fp32');
  const batch = toTensors(syntheticBatch(config, shape, opts.seed));
  const records: StepRecord[] = [];
  let profile: KernelProfile | null = null;
  let kernels: KernelTime[] | null = null;
  let recording: ProductRecording | null = null;
  let products: ProductTime[] | null = null;
  try {
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      if (opts.profile && i === opts.warmup) profile = startKernelProfile();
      if (opts.products && native && i === opts.warmup) recording = recordProducts(native.addon);
      native?.takePeakBytes();
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const loss = trainer.step(batch);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const mem = tf.memory();
      const record: StepRecord = {
        step: i < opts.warmup ? 0 : i - opts.warmup + 1,
        seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, loss, tensors: mem.numTensors, bytes: mem.numBytes,
        peakTensorBytes: native ? native.takePeakBytes() : null,
      };
      records.push(record);
      opts.onStep?.(record);
    }
  } finally {
    kernels = profile?.stop() ?? null;
    products = recording?.stop() ?? null;
    trainer.dispose();
    for (const t of Object.values(batch)) (t as Tensor | undefined)?.dispose();
  }
  if (native && products) timeProductsAlone(native.addon, products);
  const measured = records.filter((r) => r.step > 0);
  const stepSecondsMedian = median(measured.map((r) => r.seconds));
  const tokensPerStep = shape.batch * (shape.inputLength + shape.targetLength);
  const flopsPerStep = t5TrainingStepFlops(config, shape);
  const bytes = 4 * paramCount;
  return {
    records,
    stepSecondsMedian,
    cpuSecondsMedian: median(measured.map((r) => r.cpuSeconds)),
    tokensPerStep,
    tokensPerSecond: tokensPerStep / stepSecondsMedian,
    flopsPerStep,
    gflops: flopsPerStep / stepSecondsMedian / 1e9,
    paramCount,
    stateBytes: { params: bytes, grads: bytes, optimizer: trainer.optimizerBytes },
    memoryStable: measured.every((r) => r.tensors === measured[0].tensors && r.bytes === measured[0].bytes),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    kernels,
    products,
  };
}
