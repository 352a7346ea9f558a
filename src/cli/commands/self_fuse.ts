import { initEngine } from '../../engine';
import { UserError } from '../../errors';
import { selfFuseCheckpoint, verifyCheckpoint } from '../../fusion/checkpoints';
import { readConfig } from '../../io/checkpoint';
import { OUTPUT_SETTINGS, overlapsSource } from '../../io/output';
import { parseCommandArgs, requireOption, type Command } from '../command';
import { describeFusion, formatChange, probeBatch, VERIFY_HELP, verifyFileBatch } from '../fusion_args';
import { optimizerTransfer } from '../../fusion/optimizer_transfer';
import { SELF_FUSE_SETTINGS } from '../../fusion/settings';

export const selfFuseCommand: Command = {
  name: 'self-fuse',
  summary: 'widen one trained T5 by fusing it with copies of itself (function-preserving)',
  help: `Usage: deepfusion self-fuse <a> -o <dir> [--copies 2] [--noise paired:0.01|plain:0.01|none] [--seed S]
                            [--norm joint|grouped] [--optimizer-state reset|carry] [--verify <file>]

Fuses the model in <a> with copies of itself, each with output weight 1/copies: the result is
<copies> times as wide and computes the same function (docs/fusion.md, "Self-fusion").
Identical replicas get identical gradients and stay identical while training unless dropout or
noise makes them differ.

Options:
  -o, --out <dir>           where to write the wider model (an existing model directory is replaced)
${SELF_FUSE_SETTINGS.help()}
${OUTPUT_SETTINGS.help()}
  ${VERIFY_HELP}

Example: deepfusion self-fuse runs/small/final -o runs/medium/init --noise paired:0.01 --seed 1`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('self-fuse', argv, {
      out: { type: 'string', short: 'o' }, verify: { type: 'string' }, ...SELF_FUSE_SETTINGS.cliOptions(), ...OUTPUT_SETTINGS.cliOptions(),
    });
    if (positionals.length !== 1) {
      throw new UserError('deepfusion self-fuse: give exactly one model directory. See: deepfusion self-fuse --help');
    }
    const [dir] = positionals;
    const out = requireOption('self-fuse', 'out', values.out);
    const { force } = OUTPUT_SETTINGS.resolve([{ values: OUTPUT_SETTINGS.fromArgs(values), source: 'deepfusion self-fuse', fromFlags: true }]);
    // Forced onto a source, the sources are gone once written: nothing is left to verify against.
    const replacesSource = force && overlapsSource(out, [dir]);
    const { copies, noise, seed, norm, optimizer_state } = SELF_FUSE_SETTINGS.resolve([
      { values: SELF_FUSE_SETTINGS.fromArgs(values), source: 'deepfusion self-fuse', fromFlags: true }]);
    const optimizer = optimizerTransfer(optimizer_state);
    const config = readConfig(dir);
    const requested = await verifyFileBatch(values.verify, config, dir);
    const start = performance.now();
    const result = await selfFuseCheckpoint(dir, out, { copies, noise, seed, norm, optimizer, force });
    const seconds = (performance.now() - start) / 1000;
    const noiseText = noise.kind === 'none' ? 'no noise: the replicas are identical' : `${noise.kind} noise std ${noise.std}, seed ${seed}`;
    const lines = describeFusion(out, result, Array.from({ length: copies }, () => config), seconds, `1/${copies} each`);
    for (const line of [...lines, `  ${noiseText}`]) console.log(line);
    // Exact unless plain noise, or joint norms over a grouped source's replicas.
    const exact = noise.kind !== 'plain' && (result.config.norm_groups !== undefined || !config.norm_groups);
    const batch = requested ?? (exact ? undefined : probeBatch(config));
    if (batch && replacesSource) console.log('not verified: the output replaced a source');
    else if (batch) {
      await initEngine();
      const change = verifyCheckpoint(out, [{ dir, weight: 1 }], batch.case);
      console.log(`verify on ${batch.what}: self-fused logits vs the source's: ${formatChange(change)}`);
    }
  },
};
