// Chooses the tfjs backend the project computes on. `cpu` is tfjs's pure-JS reference; faster
// backends register themselves in `candidates` and are preferred in order.
import './cpu';
import './fused';
import { nativeCandidate } from './native';
import type { BackendCandidate } from './backend_candidate';
import { tf } from './tf';

const candidates: BackendCandidate[] = [];

export function addBackendCandidate(c: BackendCandidate): void {
  candidates.push(c);
}

addBackendCandidate(nativeCandidate);

/**
 * Selects the backend: `name`, else $DEEPFUSION_BACKEND, else the first candidate that
 * registers, else `cpu`.
 */
export async function initEngine(name: string | undefined = process.env.DEEPFUSION_BACKEND): Promise<string> {
  const wanted = name ? [name] : [...candidates.map((c) => c.name), 'cpu'];
  for (const n of wanted) {
    const c = candidates.find((x) => x.name === n);
    if (c && !c.register()) {
      if (name) throw new Error(`backend "${name}" cannot run on this machine: ${c.describe()}`);
      continue;
    }
    if (!c && n !== 'cpu') throw new Error(`unknown backend "${n}" (known: ${[...candidates.map((x) => x.name), 'cpu'].join(', ')})`);
    if (!(await tf.setBackend(n))) throw new Error(`backend "${n}" failed to initialise`);
    return n;
  }
  throw new Error('no backend could be initialised');
}

/** What the active backend computes with. */
export function describeBackend(): string {
  const name = tf.getBackend();
  const c = candidates.find((x) => x.name === name);
  if (c) return `${name} (${c.describe()})`;
  // On the fallback, say what the faster backends would have been and why they are not in use.
  const others = candidates.map((x) => `${x.name}: ${x.describe()}`).join('; ');
  return `${name} (TensorFlow.js pure-JS reference kernels${others ? `; ${others}` : ''})`;
}
