// CPU time of replica tracking (track_replicas_every, docs/dynamics.md) against a training step,
// on a fused T5-M (two T5-S fused, 13.6 M parameters) and one batch of 16 sequences of 64 input
// tokens, as the bundled plans train. CPU time (user + sys of this process), so that a busy
// machine inflates neither side.
//
// Usage: node dist/bench/replica_probe.js [rounds]     (default 5)
import { replicaStatsOf } from '../src/analysis/replicas';
import { initEngine, tf } from '../src/engine';
import { fuse, planFuse } from '../src/fusion/fuse';
import { disposeParams, initParams, type Params } from '../src/model/params';
import { lossAndGrads } from '../src/model/t5';
import { presetConfig } from '../src/training/presets';
import { makeOptimizer } from '../src/training/optimizers/spec';
import { ADAFACTOR_DEFAULTS } from '../src/training/optimizers/adafactor';

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const backend = await initEngine();
  const small = presetConfig('s', 8192);
  const sources = [1, 2].map((seed) => ({ config: small, params: initParams(small, seed) }));
  const fused = fuse(sources);
  for (const s of sources) disposeParams(s.params);
  const plan = planFuse([small, small]);
  const B = 16;
  const batch = {
    inputIds: tf.randomUniform([B, 64], 2, 8000, 'int32', 1),
    attentionMask: tf.ones([B, 64]),
    decoderInputIds: tf.randomUniform([B, 14], 2, 8000, 'int32', 2),
    labels: tf.randomUniform([B, 14], 2, 8000, 'int32', 3),
  };
  const optimizer = makeOptimizer(ADAFACTOR_DEFAULTS);
  let params: Params = fused.params;
  let state = optimizer.init(params);
  let step = 0;
  let probe = 0;
  for (let r = 0; r <= rounds; r++) {
    const t0 = cpuSeconds();
    const { loss, grads } = lossAndGrads(fused.config, params, batch);
    loss.dataSync();
    ({ params, state } = optimizer.apply(params, grads, state, { lr: 0.01 }));
    const t1 = cpuSeconds();
    const stats = replicaStatsOf(plan, params, grads);
    const t2 = cpuSeconds();
    loss.dispose();
    disposeParams(grads);
    if (r === 0) continue; // warm-up
    step += t1 - t0;
    probe += t2 - t1;
    if (r === rounds) console.error(`replica distance ${stats.distance?.toExponential(2)}, off-diagonal ${stats.off_diagonal?.toExponential(2)}`);
  }
  console.log(`backend ${backend}: training step ${(step / rounds).toFixed(3)} s CPU, replica statistics ${(probe / rounds).toFixed(3)} s CPU ` +
    `(${(100 * probe / step).toFixed(1)}% of a step; every 50 steps: ${(100 * probe / step / 50).toFixed(2)}%), mean of ${rounds} rounds`);
}

void main();
