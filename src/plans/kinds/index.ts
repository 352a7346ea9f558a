// The node kinds a plan file may use, by the key that introduces them (`train:`, `fuse:`, …).
import type { NodeKinds } from '../job';
import { analyzeKind } from './analyze';
import { evalKind } from './evaluate';
import { finetuneKind } from './finetune';
import { fuseKind, selfFuseKind } from './fusion';
import { trainKind } from './train';

export const nodeKinds: NodeKinds = {
  train: trainKind, fuse: fuseKind, selfFuse: selfFuseKind, eval: evalKind, finetune: finetuneKind,
  analyze: analyzeKind,
};
