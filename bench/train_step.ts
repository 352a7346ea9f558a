// Times training steps of a preset on random span-corruption-shaped batches (no corpus needed):
//   node dist/bench/train_step.js [--preset s] [--batch 16] [--input-len 128] [--target-len 32]
//     [--vocab 8192] [--optimizer adafactor] [--steps 5] [--backend native|cpu]
// Prints seconds per step split into gradient and optimizer update, and tokens per second.
import { parseArgs } from 'node:util';
import { describeBackend, initEngine } from '../src/engine';
import { countParams, initParams } from '../src/model/params';
import type { ExampleBatch } from '../src/training/data/types';
import { makeOptimizer, parseOptimizerSpec } from '../src/training/optimizers/spec';
import { isPresetName, presetConfig } from '../src/training/presets';
import { batchTokens, stepGradients } from '../src/training/step';

function randomBatch(batchSize: number, inputLength: number, targetLength: number, vocab: number, seed: number): ExampleBatch {
  let s = seed * 2654435761 >>> 0 || 1;
  const next = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return 2 + (s % (vocab - 2)); };
  const labels = Int32Array.from({ length: batchSize * targetLength }, next);
  const decoderInputIds = labels.map((_, i) => (i % targetLength === 0 ? 0 : labels[i - 1]));
  return {
    batchSize, inputLength, targetLength,
    inputIds: Int32Array.from({ length: batchSize * inputLength }, next),
    attentionMask: new Float32Array(batchSize * inputLength).fill(1),
    decoderInputIds, labels,
  };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: {
    preset: { type: 'string', default: 's' }, batch: { type: 'string', default: '16' }, 'input-len': { type: 'string', default: '128' },
    'target-len': { type: 'string', default: '32' }, vocab: { type: 'string', default: '8192' },
    optimizer: { type: 'string', default: 'adafactor' }, steps: { type: 'string', default: '5' }, backend: { type: 'string' },
  } });
  if (!isPresetName(v.preset!)) throw new Error(`unknown preset ${v.preset}`);
  await initEngine(v.backend);
  const config = presetConfig(v.preset, Number(v.vocab));
  const optimizer = makeOptimizer(parseOptimizerSpec(v.optimizer, '--optimizer'));
  let params = initParams(config, 0);
  let state = optimizer.init(params);
  const batch = randomBatch(Number(v.batch), Number(v['input-len']), Number(v['target-len']), config.vocab_size, 1);
  console.log(`preset ${v.preset}: ${countParams(params)} parameters, batch ${v.batch}×(${v['input-len']}+${v['target-len']}), ` +
    `${optimizer.name}, backend ${describeBackend()}`);
  const steps = Number(v.steps);
  let gradSeconds = 0;
  let updateSeconds = 0;
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const { grads } = stepGradients(config, params, [batch], { rate: 0, seed: () => 0 });
    const t1 = performance.now();
    ({ params, state } = optimizer.apply(params, grads, state, { lr: 0.01 }));
    Object.values(grads).forEach((g) => g.dispose());
    const t2 = performance.now();
    if (i === 0) continue; // warm-up
    gradSeconds += (t1 - t0) / 1000;
    updateSeconds += (t2 - t1) / 1000;
  }
  const perStep = (gradSeconds + updateSeconds) / steps;
  console.log(`${perStep.toFixed(3)} s/step (gradient ${(gradSeconds / steps).toFixed(3)} s, update ${(updateSeconds / steps).toFixed(3)} s), ` +
    `${Math.round(batchTokens(batch) / perStep)} tokens/s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
