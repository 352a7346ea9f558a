import * as path from 'node:path';
import { UserError } from '../../errors';
import { openCorpus } from '../../data/corpus_open';
import { cachedTokenizer, defaultTokenizer } from '../../data/default_tokenizer';
import type { UnigramProgress } from '../../data/unigram_trainer';
import { DEFAULT_SENTINELS, DEFAULT_VOCAB_SIZE, loadTokenizer, tokensPerWord, type T5Tokenizer } from '../../data/tokenizer';
import { numberOption, parseCommandArgs, requireOption, type Command } from '../command';
import { formatDuration } from '../format';
import { corpusSummary } from './corpus';

const USAGE = `Usage: deepfusion tokenizer train [--corpus <path>|default] [--vocab ${DEFAULT_VOCAB_SIZE}] [--sentinels ${DEFAULT_SENTINELS}] -o <tokenizer.json>
       deepfusion tokenizer encode <tokenizer.json>|default "text"`;

/** Training progress on stderr: one line per pruning round. */
function reportRound(p: UnigramProgress, started: number): void {
  console.error(`  round ${String(p.round).padStart(2)}: ${String(p.pieces).padStart(7)} pieces, ` +
    `${p.objective.toFixed(3)} nats/word  (${formatDuration((Date.now() - started) / 1000)})`);
}

async function train(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('tokenizer train', argv, {
    corpus: { type: 'string' }, vocab: { type: 'string' }, sentinels: { type: 'string' }, output: { type: 'string', short: 'o' },
  }, false);
  const output = requireOption('tokenizer train', 'output', values.output);
  const vocabSize = numberOption('tokenizer train', 'vocab', values.vocab, DEFAULT_VOCAB_SIZE, { integer: true, min: 1 });
  const sentinels = numberOption('tokenizer train', 'sentinels', values.sentinels, DEFAULT_SENTINELS, { integer: true, min: 0 });
  const corpus = openCorpus(values.corpus);
  for (const line of corpusSummary(corpus)) console.log(line);
  const started = Date.now();
  let trained = false;
  const tokenizer = cachedTokenizer({ corpus, vocabSize, sentinels, onProgress: (p) => { trained = true; reportRound(p, started); } });
  const seconds = (Date.now() - started) / 1000;
  tokenizer.save(output);
  console.log(`vocab       ${tokenizer.vocabSize} ids: <pad> 0, </s> 1, <unk> 2, ${tokenizer.vocabSize - 3 - tokenizer.sentinelCount} ` +
    `pieces, ${tokenizer.sentinelCount} sentinels (<extra_id_0> = ${tokenizer.vocabSize - 1})`);
  console.log(`training    ${trained ? `${seconds.toFixed(1)} s` : 'found in the cache'}`);
  const perWord = await tokensPerWord(tokenizer, corpus);
  // A corpus of one document holds none out, so there is nothing to measure on.
  console.log(`validation  ${Number.isNaN(perWord) ? 'none (the corpus has no validation documents)' : `${perWord.toFixed(3)} tokens per word`}`);
  console.log(`wrote       ${path.resolve(output)}`);
}

function tokenizerArg(spec: string): T5Tokenizer {
  if (spec !== 'default') return loadTokenizer(spec);
  const started = Date.now();
  return defaultTokenizer({
    onProgress: (p) => {
      if (p.round === 1) console.error('training the default tokenizer (once; it is cached afterwards)');
      reportRound(p, started);
    },
  });
}

async function encode(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs('tokenizer encode', argv, {});
  if (positionals.length !== 2) {
    throw new UserError('deepfusion tokenizer encode: give a tokenizer.json (or "default") and one text. See: deepfusion tokenizer --help');
  }
  const tokenizer = tokenizerArg(positionals[0]);
  const ids = await tokenizer.encode(positionals[1]);
  console.log(`ids     ${ids.join(' ')}`);
  console.log(`tokens  ${ids.map((id) => JSON.stringify(tokenizer.idToToken(id))).join(' ')}`);
  console.log(`decoded ${JSON.stringify(await tokenizer.decode(ids))}`);
  console.log(`${ids.length} tokens`);
}

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'train a T5 unigram tokenizer on a corpus, or show how one encodes a text',
  help: `${USAGE}

train   Trains a SentencePiece-style unigram tokenizer on the corpus's training split and writes
        it as a Hugging Face tokenizer.json, with T5's special ids: <pad> 0, </s> 1, <unk> 2, and
        the sentinels <extra_id_0> … at the top of the vocabulary (<extra_id_0> = vocab − 1).
        --corpus     "default" (the built-in corpus, the default) or a path; see deepfusion corpus --help
        --vocab      ids in all, special tokens and sentinels included (default ${DEFAULT_VOCAB_SIZE})
        --sentinels  number of <extra_id_i> tokens (default ${DEFAULT_SENTINELS}, as T5)
        -o           the tokenizer.json to write
        Training is deterministic (same corpus and options, same file) and its result is cached
        under $DEEPFUSION_CACHE (default ~/.cache/deepfusion), so asking again is instant. The
        default tokenizer takes about 30 s the first time. Prints the corpus, each pruning
        round, and the tokens per word on the validation split.

encode  Prints the ids and pieces of a text (without the </s> that T5 appends), and the decoded
        text — the normalised input. "default" is the default tokenizer.

Examples: deepfusion tokenizer train -o runs/tokenizer.json
          deepfusion tokenizer train --corpus notes.jsonl --vocab 4096 -o notes-tokenizer.json
          deepfusion tokenizer encode runs/tokenizer.json "Call me Ishmael."`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return train(rest);
    if (sub === 'encode') return encode(rest);
    throw new UserError(`deepfusion tokenizer: ${sub ? `unknown subcommand "${sub}"` : 'give a subcommand'}.\n${USAGE}`);
  },
};
