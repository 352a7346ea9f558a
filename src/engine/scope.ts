import { tf } from './tf';

/**
 * Runs `fn` and disposes every tensor it created. For work whose result is plain data
 * (numbers, typed arrays), which tf.tidy does not accept as a return value.
 */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
