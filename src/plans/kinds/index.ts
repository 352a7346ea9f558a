// The node kinds a plan file may use, by the key that introduces them (`train:`, `fuse:`, …).
import type { NodeKind } from '../job';
import { evalKind } from './evaluate';
import { fuseKind, selfFuseKind } from './fusion';
import { trainKind } from './train';

export const nodeKinds: Record<string, NodeKind> = {
  train: trainKind, fuse: fuseKind, selfFuse: selfFuseKind, eval: evalKind,
};
