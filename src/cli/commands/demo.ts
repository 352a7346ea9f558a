import { loadPlan } from '../../plans/run_plan_file';
import { parseCommandArgs, type Command } from '../command';
import { RUN_SERVE_SETTINGS } from '../../serve/settings';
import { PLAN_OVERRIDES, planOverrides, runAndReport, serveOption } from './run';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the main job on the bundled data: grow a T5 by fusion vs. from scratch (~5 min on 2 cores with AVX512-BF16)',
  help: `Usage: deepfusion demo [--out <dir>] [--precision bf16|fp32] [--serve [--port 8080]]

Runs the bundled plan "demo" (deepfusion run demo): on the bundled English corpus it trains two
small T5s in parallel, fuses them into one twice as wide, trains that on, and compares it with
the wide model trained from scratch at equal compute — then writes report.md and the plots
into runs/demo (or --out). Interrupt it any time; the same command resumes.
With --serve, the live dashboard (docs/dashboard.md) runs beside it. See deepfusion run --help
for plans.

${PLAN_OVERRIDES.help()}`,
  async run(argv) {
    const { values } = parseCommandArgs('demo', argv, { out: { type: 'string' }, ...RUN_SERVE_SETTINGS.cliOptions(), ...PLAN_OVERRIDES.cliOptions() }, false);
    await runAndReport(loadPlan('demo', planOverrides('demo', values)), values.out, undefined, serveOption('demo', values));
  },
};
