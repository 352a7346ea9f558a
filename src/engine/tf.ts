// The single entry point to TensorFlow.js for the whole project. The union package is used
// (not tfjs-core alone) because only its Node bundle registers every op's gradient and the
// chained tensor methods.
import * as tf from '@tensorflow/tfjs';

// Production mode drops tfjs's per-op debug checks and its "install tfjs-node" banner.
tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;
export type Rank = tf.Rank;

interface EngineInternals {
  state: { tensorInfo: Map<unknown, { backend: tf.KernelBackend }> };
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor;
  saveTensorsForBackwardMode?: (tensors: tf.Tensor[]) => tf.Tensor[];
}

/**
 * While a gradient tape records, tfjs keeps each tensor a gradient will need by running the
 * Identity kernel on it, which also records a tape node: about 450 a training step, each a full
 * kernel dispatch. A kept tensor only has to hold its data until backprop disposes it, so with
 * `on` it shares the data directly: the same tensors, values and memory accounting, with ~2 ms
 * less JavaScript a step at the small bench shape (docs/performance.md, "Steady state").
 * On by default; off restores tfjs's own method.
 */
export function shareSavedTensors(on: boolean): void {
  const engine = tf.engine() as unknown as EngineInternals;
  const proto = Object.getPrototypeOf(engine) as EngineInternals;
  if (typeof proto.saveTensorsForBackwardMode !== 'function') return;  // a tfjs without the hook: keep its behaviour
  if (!on) {
    delete engine.saveTensorsForBackwardMode;
    return;
  }
  engine.saveTensorsForBackwardMode = (tensors) => tensors.map((t) => {
    const backend = engine.state.tensorInfo.get(t.dataId)!.backend;
    backend.incRef(t.dataId);
    return engine.keep(engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend));
  });
}

shareSavedTensors(true);
