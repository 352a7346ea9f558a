import type { Command } from '../command';
import { corpusCommand } from './corpus';
import { evalCommand } from './eval';
import { forwardCommand } from './forward';
import { infoCommand } from './info';
import { pretrainCommand } from './pretrain';
import { tokenizerCommand } from './tokenizer';

/** Every CLI command, in the order `deepfusion --help` lists them. */
export const commands: Command[] = [infoCommand, forwardCommand, corpusCommand, tokenizerCommand, pretrainCommand, evalCommand];
