import { initEngine } from '../../engine';
import { UserError } from '../../errors';
import { collapseNormsCheckpoint, verifyCheckpoint } from '../../fusion/checkpoints';
import { readConfig } from '../../io/checkpoint';
import { OUTPUT_SETTINGS, overlapsSource } from '../../io/output';
import { parseCommandArgs, requireOption, type Command } from '../command';
import { formatChange, probeBatch, VERIFY_HELP, verifyFileBatch } from '../fusion_args';

export const collapseNormsCommand: Command = {
  name: 'collapse-norms',
  summary: 'turn a grouped (fused) model into a plain Hugging Face T5, printing how much it changes',
  help: `Usage: deepfusion collapse-norms <dir> -o <out> [--verify <case.json | text file>]

A model fused with grouped norms has "norm_groups" in config.json: every RMSNorm normalises
each source's features on its own, which plain T5 implementations do not do. This writes the
same weights with "norm_groups" removed (every RMSNorm normalises the whole vector), for export
to tools that expect a plain T5. That changes the function slightly; the change of the logits is
printed, on the --verify batch or on a random probe batch. Tokenizer and optimizer state are copied.

Options:
  -o, --out <dir>   where to write the plain model (an existing model directory is replaced)
${OUTPUT_SETTINGS.help()}
  ${VERIFY_HELP}

Example: deepfusion collapse-norms runs/medium/final -o export/medium --verify case.json`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('collapse-norms', argv, {
      out: { type: 'string', short: 'o' }, verify: { type: 'string' }, ...OUTPUT_SETTINGS.cliOptions(),
    });
    if (positionals.length !== 1) {
      throw new UserError('deepfusion collapse-norms: give exactly one model directory. See: deepfusion collapse-norms --help');
    }
    const [dir] = positionals;
    const out = requireOption('collapse-norms', 'out', values.out);
    const { force } = OUTPUT_SETTINGS.resolve([{ values: OUTPUT_SETTINGS.fromArgs(values), source: 'deepfusion collapse-norms', fromFlags: true }]);
    // Forced onto a source, the sources are gone once written: nothing is left to verify against.
    const replacesSource = force && overlapsSource(out, [dir]);
    const source = readConfig(dir);
    const batch = (await verifyFileBatch(values.verify, source, dir)) ?? probeBatch(source);
    const config = await collapseNormsCheckpoint(dir, out, { force });
    console.log(`wrote ${out}: a plain T5 (d_model ${config.d_model}, norm_groups dropped)`);
    if (replacesSource) {
      console.log('not verified: the output replaced the source');
      return;
    }
    await initEngine();
    const change = verifyCheckpoint(out, [{ dir, weight: 1 }], batch.case);
    console.log(`verify on ${batch.what}: collapsed logits vs the grouped model's: ${formatChange(change)}`);
  },
};
