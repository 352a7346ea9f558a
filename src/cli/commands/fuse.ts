import { initEngine } from '../../engine';
import { UserError } from '../../errors';
import { fuseCheckpoints, verifyCheckpoint } from '../../fusion/checkpoints';
import { outputWeights } from '../../fusion/compatibility';
import { readConfig } from '../../io/checkpoint';
import { OUTPUT_SETTINGS, overlapsSource } from '../../io/output';
import { parseCommandArgs, requireOption, type Command } from '../command';
import { describeFusion, formatChange, probeBatch, VERIFY_HELP, verifyFileBatch } from '../fusion_args';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';
import { FUSE_SETTINGS } from '../../fusion/settings';

export const fuseCommand: Command = {
  name: 'fuse',
  summary: 'fuse two or more trained T5s into one wider model (Deep Fusion)',
  help: `Usage: deepfusion fuse <a> <b> [<c> …] -o <dir> [--weights 0.5,0.5] [--norm grouped|joint]
                       [--optimizer-state reset|carry] [--verify <case.json | text file>]

Fuses the model directories <a>, <b>, … into one wider T5 in <dir> that runs them side by side
and outputs Σ wᵢ·logitsᵢ (docs/fusion.md): widths add up (d_model, num_heads, d_ff; the
first source's heads and features first), every weight is block-diagonal or concatenated, the
output layer carries the weights. The sources must agree on depth, vocabulary and tokenizer,
d_kv, feed-forward kind, tying, position buckets, norm epsilon and special token ids; widths
may differ. The fusion streams tensor by tensor, so memory stays near one tensor's size; <dir>
appears complete or not at all, with the sources' tokenizer.json.

Options:
  -o, --out <dir>           where to write the fused model (an existing model directory is replaced)
${FUSE_SETTINGS.help()}
${OUTPUT_SETTINGS.help()}
  ${VERIFY_HELP}

Example: deepfusion fuse runs/small-a/final runs/small-b/final -o runs/medium/init --verify case.json`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('fuse', argv, {
      out: { type: 'string', short: 'o' }, verify: { type: 'string' }, ...FUSE_SETTINGS.cliOptions(), ...OUTPUT_SETTINGS.cliOptions(),
    });
    if (positionals.length < 2) {
      throw new UserError('deepfusion fuse: give two or more model directories. See: deepfusion fuse --help');
    }
    const out = requireOption('fuse', 'out', values.out);
    const { force } = OUTPUT_SETTINGS.resolve([{ values: OUTPUT_SETTINGS.fromArgs(values), source: 'deepfusion fuse', fromFlags: true }]);
    // Forced onto a source, the sources are gone once written: nothing is left to verify against.
    const replacesSource = force && overlapsSource(out, positionals);
    const s = FUSE_SETTINGS.resolve([{ values: FUSE_SETTINGS.fromArgs(values), source: 'deepfusion fuse', fromFlags: true }]);
    const weights = outputWeights(positionals.length, s.weights);
    const norm = s.norm;
    const optimizer = optimizerTransfer(s.optimizer_state);
    const configs = positionals.map(readConfig);
    const requested = await verifyFileBatch(values.verify, configs[0], positionals[0]);
    const start = performance.now();
    const result = await fuseCheckpoints(positionals, out, { weights, norm, optimizer, force });
    const weightText = weights.map((w) => Number(w.toFixed(4))).join(', ');
    for (const line of describeFusion(out, result, configs, (performance.now() - start) / 1000, weightText)) console.log(line);
    // Grouped fusion is exact; joint fusion of different sources is not, so it is always measured.
    const batch = requested ?? (result.config.norm_groups ? undefined : probeBatch(configs[0]));
    if (batch && replacesSource) console.log('not verified: the output replaced a source');
    else if (batch) {
      await initEngine();
      const change = verifyCheckpoint(out, positionals.map((dir, i) => ({ dir, weight: weights[i] })), batch.case);
      console.log(`verify on ${batch.what}: fused logits vs Σ wᵢ·logitsᵢ of the sources: ${formatChange(change)}`);
    }
  },
};
