// How fusion moves optimizer state: fusion places slot tensors generically, and the optimizer
// named in the sources' optimizer.json says which slots it has.
import { optimizerOfMeta } from '../training/optimizers/state_io';
import { OPTIMIZER_META_FILE } from '../training/optimizers/types';
import type { OptimizerTransfer } from './checkpoints';
import type { OptimizerStateMode } from './optimizer_state';

export function optimizerTransfer(mode: OptimizerStateMode): OptimizerTransfer {
  if (mode === 'reset') return { mode };
  return { mode, slotsFor: (meta) => optimizerOfMeta(meta, `${OPTIMIZER_META_FILE} of the sources`).slots };
}
