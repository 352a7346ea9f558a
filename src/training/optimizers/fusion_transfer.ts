// How fusion moves optimizer state: fusion places slot tensors generically, and the training
// layer tells it which slots the sources' optimizer (named in optimizer.json) has.
import type { OptimizerTransfer } from '../../fusion/checkpoints';
import type { OptimizerStateMode } from '../../fusion/optimizer_state';
import { optimizerOfMeta } from './state_io';
import { OPTIMIZER_META_FILE } from './types';

export function optimizerTransfer(mode: OptimizerStateMode): OptimizerTransfer {
  if (mode === 'reset') return { mode };
  return { mode, slotsFor: (meta) => optimizerOfMeta(meta, `${OPTIMIZER_META_FILE} of the sources`).slots };
}
