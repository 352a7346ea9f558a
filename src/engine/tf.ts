// The single entry point to TensorFlow.js for the whole project. The union package is used
// (not tfjs-core alone) because only its Node bundle registers every op's gradient and the
// chained tensor methods.
import * as tf from '@tensorflow/tfjs';

// Production mode drops tfjs's per-op debug checks and its "install tfjs-node" banner.
tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;
export type Rank = tf.Rank;
