import * as path from 'node:path';
import { ANALYSES, ANALYSIS_SETTINGS, runAnalysis, type AnalysisName, type AnalysisTarget } from '../../analysis';
import { describeBackend, initEngine } from '../../engine';
import { UserError } from '../../errors';
import { parseCommandArgs, type Command } from '../command';

const NAME = 'analyze';

/** `label=dir` or `dir` (labelled by its path). */
function target(text: string): AnalysisTarget {
  const eq = text.indexOf('=');
  if (eq > 0 && !text.slice(0, eq).includes(path.sep)) return { label: text.slice(0, eq), dir: text.slice(eq + 1) };
  return { label: text, dir: text };
}

export const analyzeCommand: Command = {
  name: NAME,
  summary: 'growth dynamics of fused models: replicas, kernel heat maps, modified loss, Lie bracket',
  help: `Usage: deepfusion analyze <${ANALYSES.join('|')}> [--model <dir>]… [--run [label=]<dir>]… [--out <dir>] [options]

Measures what happens after fusion (docs/dynamics.md), prints the numbers and writes figures and
a JSON file with every number into --out (default runs/analysis/<analysis>).

  replicas       --run (or --model): per tensor and over the model, the distance between the
                 blocks that came from each source, the cosine of their gradients and the norm
                 of the off-diagonal blocks, over training; from the run's log (pretrain
                 --track-replicas-every N) or computed from its checkpoints
  heatmap        --run …: the first layer's feed-forward input kernel at the runs' checkpoints,
                 one row per run, shared colour scale (the paper's Figure 5)
  modified-loss  --model: on a fixed batch, the distance between one gradient-descent step of
                 size h and the flows of L and of L̃ = L + (h/4)‖∇L‖² (RK4), for a range of h,
                 and the fitted log-log slopes (theory: 2 and 3). Any model, fused or not
  bracket        --model or --run: ‖[X_A, X_B]‖ = ‖(−H_AB g_B, H_BA g_A)‖ of the sources' block
                 gradient fields, relative to ‖g‖² and to ‖H·(g_A, g_B)‖, and how far the
                 replicas' gradients differ; at a fused model or over a run's checkpoints

Models must carry fusion.json (written by fuse / self-fuse and kept by training) for replicas,
heatmap and bracket. Gradients are float32, positions and sums float64; Hessian-vector products
are fourth-order central differences of gradients with a calibrated radius.

Options:
  --model <dir>            a model directory (repeatable; label=dir names it)
  --run <dir>              a run directory: its starting model, checkpoints, final/ and log
                           (repeatable; label=dir names it)
  --out <dir>              where figures and numbers go

${ANALYSIS_SETTINGS.help()}

Examples:
  deepfusion analyze modified-loss --model runs/medium/init
  deepfusion analyze heatmap --run high=runs/high-lr --run low=runs/low-lr --out runs/figure5
  deepfusion analyze bracket --model runs/self-fused --model runs/fused`,
  async run(argv) {
    const [what, ...rest] = argv;
    if (!ANALYSES.includes(what as AnalysisName)) {
      throw new UserError(`deepfusion ${NAME}: ${what ? `unknown analysis "${what}"` : 'which analysis?'}. Fix: use one of ${ANALYSES.join(', ')} (deepfusion ${NAME} --help)`);
    }
    const { values: v } = parseCommandArgs(NAME, rest, {
      model: { type: 'string', multiple: true }, run: { type: 'string', multiple: true }, out: { type: 'string' }, ...ANALYSIS_SETTINGS.cliOptions(),
    }, false);
    const settings = ANALYSIS_SETTINGS.resolve([{ values: ANALYSIS_SETTINGS.fromArgs(v), source: `deepfusion ${NAME}`, fromFlags: true }]);
    const outDir = v.out ?? path.join('runs', 'analysis', what);
    await initEngine();
    const log = (line: string): void => { process.stderr.write(`${line}\n`); };
    log(`analyze ${what} · backend ${describeBackend()}`);
    const out = await runAnalysis({
      what: what as AnalysisName, models: (v.model ?? []).map(target), runs: (v.run ?? []).map(target), settings, outDir, log,
    });
    for (const line of out.summary) console.log(line);
    for (const f of out.figures) console.log(`figure   ${path.join(outDir, f.file)}  (${f.title})`);
    console.log(`numbers  ${path.join(outDir, out.data)}`);
  },
};
