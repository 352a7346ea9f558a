import type { Command } from '../command';
import { collapseNormsCommand } from './collapse_norms';
import { forwardCommand } from './forward';
import { fuseCommand } from './fuse';
import { infoCommand } from './info';
import { selfFuseCommand } from './self_fuse';

/** Every CLI command, in the order `deepfusion --help` lists them. */
export const commands: Command[] = [infoCommand, forwardCommand, fuseCommand, selfFuseCommand, collapseNormsCommand];
