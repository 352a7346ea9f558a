import type { Command } from '../command';
import { analyzeCommand } from './analyze';
import { benchCommand } from './bench';
import { collapseNormsCommand } from './collapse_norms';
import { corpusCommand } from './corpus';
import { evalCommand } from './eval';
import { finetuneCommand } from './finetune';
import { forwardCommand } from './forward';
import { fuseCommand } from './fuse';
import { infoCommand } from './info';
import { pretrainCommand } from './pretrain';
import { demoCommand } from './demo';
import { runCommand } from './run';
import { selfFuseCommand } from './self_fuse';
import { serveCommand } from './serve';
import { tokenizerCommand } from './tokenizer';
import { workerCommand } from './worker';

/** Every CLI command, in the order `deepfusion --help` lists them. */
export const commands: Command[] = [
  demoCommand, runCommand, workerCommand, serveCommand, infoCommand, forwardCommand, corpusCommand, tokenizerCommand, pretrainCommand, evalCommand,
  finetuneCommand, fuseCommand, selfFuseCommand,
  collapseNormsCommand, analyzeCommand, benchCommand,
];
