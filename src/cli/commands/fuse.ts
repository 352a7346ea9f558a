import { initEngine } from '../../engine';
import { UserError } from '../../errors';
import { fuseCheckpoints, verifyCheckpoint } from '../../fusion/checkpoints';
import { outputWeights } from '../../fusion/compatibility';
import { readConfig } from '../../io/checkpoint';
import { parseCommandArgs, requireOption, type Command } from '../command';
import {
  describeFusion, formatChange, normOption, optimizerStateOption, probeBatch, VERIFY_HELP,
  verifyFileBatch, weightsOption,
} from '../fusion_args';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';

export const fuseCommand: Command = {
  name: 'fuse',
  summary: 'fuse two or more trained T5s into one wider model (Deep Fusion)',
  help: `Usage: deepfusion fuse <a> <b> [<c> …] -o <dir> [--weights 0.5,0.5] [--norm grouped|joint]
                       [--optimizer-state reset|carry] [--verify <case.json | text file>]

Fuses the model directories <a>, <b>, … into one wider T5 in <dir> that runs them side by side
and outputs Σ wᵢ·logitsᵢ (shared/docs/fusion.md): widths add up (d_model, num_heads, d_ff; the
first source's heads and features first), every weight is block-diagonal or concatenated, the
output layer carries the weights. The sources must agree on depth, vocabulary and tokenizer,
d_kv, feed-forward kind, tying, position buckets, norm epsilon and special token ids; widths
may differ. The fusion streams tensor by tensor, so memory stays near one tensor's size; <dir>
appears complete or not at all, with the sources' tokenizer.json.

Options:
  -o, --out <dir>     where to write the fused model (replaced if it exists)
  --weights w1,w2,…   output weights, positive, summing to 1 (default: equal)
  --norm grouped      (default) each RMSNorm normalises each source's features on its own:
                      exact for any sources; config.json gets "norm_groups"
  --norm joint        a plain Hugging Face T5 (as the paper's fused models): close to, not
                      equal to, the weighted average; the change is printed
  --optimizer-state reset   (default) the fused model starts with fresh optimizer state
  --optimizer-state carry   the sources' optimizer moments placed block by block like their
                      parameters (zeros off the diagonal), scaled to the fused model's gradients
  ${VERIFY_HELP}

Example: deepfusion fuse runs/small-a/final runs/small-b/final -o runs/medium/init --verify case.json`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('fuse', argv, {
      out: { type: 'string', short: 'o' }, weights: { type: 'string' }, norm: { type: 'string' },
      'optimizer-state': { type: 'string' }, verify: { type: 'string' },
    });
    if (positionals.length < 2) {
      throw new UserError('deepfusion fuse: give two or more model directories. See: deepfusion fuse --help');
    }
    const out = requireOption('fuse', 'out', values.out);
    const norm = normOption('fuse', values.norm);
    const weights = outputWeights(positionals.length, weightsOption('fuse', values.weights));
    const optimizer = optimizerTransfer(optimizerStateOption('fuse', values['optimizer-state']));
    const configs = positionals.map(readConfig);
    const requested = await verifyFileBatch(values.verify, configs[0], positionals[0]);
    const start = performance.now();
    const result = await fuseCheckpoints(positionals, out, { weights, norm, optimizer });
    const weightText = weights.map((w) => Number(w.toFixed(4))).join(', ');
    for (const line of describeFusion(out, result, configs, (performance.now() - start) / 1000, weightText)) console.log(line);
    // Grouped fusion is exact; joint fusion of different sources is not, so it is always measured.
    const batch = requested ?? (result.config.norm_groups ? undefined : probeBatch(configs[0]));
    if (batch) {
      await initEngine();
      const change = verifyCheckpoint(out, positionals.map((dir, i) => ({ dir, weight: weights[i] })), batch.case);
      console.log(`verify on ${batch.what}: fused logits vs Σ wᵢ·logitsᵢ of the sources: ${formatChange(change)}`);
    }
  },
};
