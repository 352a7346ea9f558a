import type { Command } from '../command';
import { benchCommand } from './bench';
import { forwardCommand } from './forward';
import { infoCommand } from './info';

/** Every CLI command, in the order `deepfusion --help` lists them. */
export const commands: Command[] = [infoCommand, forwardCommand, benchCommand];
