import { initEngine } from '../../engine';
import { UserError } from '../../errors';
import { selfFuseCheckpoint, verifyCheckpoint } from '../../fusion/checkpoints';
import { readConfig } from '../../io/checkpoint';
import { numberOption, parseCommandArgs, requireOption, type Command } from '../command';
import {
  describeFusion, formatChange, noiseOption, normOption, optimizerStateOption, probeBatch, VERIFY_HELP,
  verifyFileBatch,
} from '../fusion_args';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';

export const selfFuseCommand: Command = {
  name: 'self-fuse',
  summary: 'widen one trained T5 by fusing it with copies of itself (function-preserving)',
  help: `Usage: deepfusion self-fuse <a> -o <dir> [--copies 2] [--noise paired:0.01|plain:0.01|none] [--seed S]
                            [--norm joint|grouped] [--optimizer-state reset|carry] [--verify <file>]

Fuses the model in <a> with copies of itself, each with output weight 1/copies: the result is
<copies> times as wide and computes the same function (shared/docs/fusion.md, "Self-fusion").
Identical replicas get identical gradients and stay identical while training unless dropout or
noise makes them differ.

Options:
  -o, --out <dir>       where to write the wider model (replaced if it exists)
  --copies <n>          number of replicas, ≥ 2 (default 2)
  --noise paired:<std>  add N to each diagonal block and −N/(copies−1) to the other blocks of its
                        block-row in every block-diagonal weight: the function is unchanged (the
                        replicas' inputs are equal), the replicas differ
  --noise plain:<std>   add N(0, std²) to every weight: changes the function (the change is printed)
  --noise none          (default) exact replicas
  --seed <S>            seed of the noise (default 0)
  --norm joint          (default for a plain T5) a plain Hugging Face T5, exact for self-fusion
  --norm grouped        (default for a grouped model) per-replica norm groups, also exact
  --optimizer-state reset|carry   as for \`deepfusion fuse\` (default reset)
  ${VERIFY_HELP}

Example: deepfusion self-fuse runs/small/final -o runs/medium/init --noise paired:0.01 --seed 1`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('self-fuse', argv, {
      out: { type: 'string', short: 'o' }, copies: { type: 'string' }, noise: { type: 'string' }, seed: { type: 'string' },
      norm: { type: 'string' }, 'optimizer-state': { type: 'string' }, verify: { type: 'string' },
    });
    if (positionals.length !== 1) {
      throw new UserError('deepfusion self-fuse: give exactly one model directory. See: deepfusion self-fuse --help');
    }
    const [dir] = positionals;
    const out = requireOption('self-fuse', 'out', values.out);
    const copies = numberOption('self-fuse', 'copies', values.copies, 2, { integer: true, min: 2 });
    const noise = noiseOption('self-fuse', values.noise);
    const seed = numberOption('self-fuse', 'seed', values.seed, 0, { integer: true });
    const norm = normOption('self-fuse', values.norm);
    const optimizer = optimizerTransfer(optimizerStateOption('self-fuse', values['optimizer-state']));
    const config = readConfig(dir);
    const requested = await verifyFileBatch(values.verify, config, dir);
    const start = performance.now();
    const result = await selfFuseCheckpoint(dir, out, { copies, noise, seed, norm, optimizer });
    const seconds = (performance.now() - start) / 1000;
    const noiseText = noise.kind === 'none' ? 'no noise: the replicas are identical' : `${noise.kind} noise std ${noise.std}, seed ${seed}`;
    const lines = describeFusion(out, result, Array.from({ length: copies }, () => config), seconds, `1/${copies} each`);
    for (const line of [...lines, `  ${noiseText}`]) console.log(line);
    // Exact unless plain noise, or joint norms over a grouped source's replicas.
    const exact = noise.kind !== 'plain' && (result.config.norm_groups !== undefined || !config.norm_groups);
    const batch = requested ?? (exact ? undefined : probeBatch(config));
    if (batch) {
      await initEngine();
      const change = verifyCheckpoint(out, [{ dir, weight: 1 }], batch.case);
      console.log(`verify on ${batch.what}: self-fused logits vs the source's: ${formatChange(change)}`);
    }
  },
};
