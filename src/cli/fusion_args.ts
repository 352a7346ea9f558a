// What the fusion commands (fuse, self-fuse, collapse-norms) share: their option values, the
// batch for --verify, and how results are printed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError, UserError } from '../errors';
import { readJsonFile, TOKENIZER_FILE } from '../io/checkpoint';
import type { FusionResult } from '../fusion/checkpoints';
import { caseFromTokens, probeCase, TEXT_BATCH, verificationLines, type LogitsChange } from '../fusion/verify';
import { parseCase, type ForwardCase } from '../model/case';
import type { T5Config } from '../model/config';
import { loadTokenizer } from '../data';
import { formatCount } from './format';

export const VERIFY_HELP = `--verify <file>   run the sources and the result on one batch and print the maximum and the
                    relative error (‖fused − expected‖ / ‖expected‖) of the logits. <file> is a
                    case.json as for \`deepfusion forward\` ({"input_ids": [[...]], "labels": [[...]]}),
                    or a text file whose first ${TEXT_BATCH.maxLines} non-empty lines (up to ${TEXT_BATCH.maxTokens} tokens each) are
                    tokenized with the sources' tokenizer.json.
                    Operations that change the function (joint norms for different sources, plain
                    noise, collapse-norms) are always measured, on a random probe batch if no file
                    is given. Verification loads the models one at a time (memory: the largest).`;

export interface VerifyBatch {
  case: ForwardCase;
  /** How the batch is described in the output. */
  what: string;
}

/**
 * The batch of `--verify <file>` (read before fusing, so a bad file fails fast): a case.json, or
 * lines of text tokenized with the tokenizer.json in `modelDir` (the sources share it).
 */
export async function verifyFileBatch(file: string | undefined, config: T5Config, modelDir: string):
  Promise<VerifyBatch | undefined> {
  if (file === undefined) return undefined;
  if (!fs.existsSync(file)) throw new UserError(`--verify ${file}: no such file. Fix: give a case.json or a text file`);
  const what = file;
  if (file.endsWith('.json')) return { case: parseCase(readJsonFile(file, 'the verification case'), config, file), what };
  const tokenizerFile = path.join(modelDir, TOKENIZER_FILE);
  if (!fs.existsSync(tokenizerFile)) {
    throw new FileError(modelDir, `has no ${TOKENIZER_FILE} to tokenize ${file} with`,
      'give a case.json to --verify, or put the tokenizer the model was trained with next to it');
  }
  const lines = verificationLines(fs.readFileSync(file, 'utf8'));
  const rows = await loadTokenizer(tokenizerFile).encodeBatch(lines);
  // parseCase checks the ids against the model's vocabulary.
  return { case: parseCase(caseFromTokens(rows, config, file), config, file), what: `${what} (${rows.length} lines)` };
}

/** For operations that change the function when the user gave no batch: they are measured anyway. */
export function probeBatch(config: T5Config): VerifyBatch {
  return { case: probeCase(config), what: 'a random probe batch (no --verify file given)' };
}

export function formatChange(change: LogitsChange): string {
  return `max abs error ${change.maxAbs.toExponential(2)}, relative error ${change.relative.toExponential(2)}`;
}

const parts = (sources: readonly T5Config[], field: 'd_model' | 'num_heads' | 'd_ff'): string =>
  sources.every((s) => s[field] === sources[0][field]) && sources.length > 2
    ? `${sources.length} × ${sources[0][field]}` : sources.map((s) => s[field]).join(' + ');

/** Two lines on what was written. */
export function describeFusion(out: string, result: FusionResult, sources: readonly T5Config[], seconds: number,
  weights: string): string[] {
  const c = result.config;
  const norms = c.norm_groups ? `grouped [${c.norm_groups.join(', ')}]` : 'joint (plain T5)';
  const optimizer = result.optimizer ? `carried (${result.optimizer.name}, step ${result.optimizer.step})` : 'reset';
  return [
    `wrote ${out}: d_model ${c.d_model} (${parts(sources, 'd_model')}), ${c.num_heads} heads (${parts(sources, 'num_heads')}), ` +
      `d_ff ${c.d_ff} (${parts(sources, 'd_ff')}), norms ${norms}`,
    `  ${formatCount(result.parameters)} parameters · weights ${weights} · tokenizer ${result.tokenizer ? 'copied' : 'none'} · ` +
      `optimizer state ${optimizer} · ${seconds.toFixed(1)}s`,
  ];
}

