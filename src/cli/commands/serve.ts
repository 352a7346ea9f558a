import { Dashboard } from '../../serve/server';
import { SERVE_SETTINGS } from '../../serve/settings';
import { parseCommandArgs, type Command } from '../command';
import { UserError } from '../../errors';

const NAME = 'serve';

/** Starts the dashboard on a runs directory and prints where to open it. */
export async function startDashboard(root: string, values: Record<string, unknown>, source: string): Promise<Dashboard> {
  const s = SERVE_SETTINGS.resolve([{ values: SERVE_SETTINGS.fromArgs(values), source, fromFlags: true }]);
  const dashboard = await Dashboard.start({ root, host: s.host, port: s.port, token: s.token });
  console.error(`dashboard: ${dashboard.url}${dashboard.token ? '   (the token is shown only here; anyone with it can read the runs)' : ''}`);
  return dashboard;
}

export const serveCommand: Command = {
  name: NAME,
  summary: 'live dashboard of runs and plans in the browser: status, curves, reports, logs (read-only)',
  help: `Usage: deepfusion serve [<runs dir>] [--port 8080] [--host 127.0.0.1] [--token <text>]

Serves a web page that lists every plan and training run under the runs directory (default
runs/) and shows, live: a running plan's graph and every job's state, step, loss, tokens/s, ETA
and machine; training and validation curves as metrics.jsonl grows (against steps, tokens, FLOPs
or wall time, log or linear axes), the plan's arms overlaid as in the report's Figure 1; and,
once a plan ends, its report with figures, each job's log and its model's info. The page and its
chart library come with the package: no internet needed.

It only reads, and serves nothing outside the runs directory. It listens on 127.0.0.1 unless
told otherwise; on any other address every request needs a token, printed once in the URL.
deepfusion run <plan> --serve starts it beside a plan. See docs/dashboard.md.

${SERVE_SETTINGS.help()}

Example: deepfusion serve runs --port 8080     (then open http://127.0.0.1:8080/)`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(NAME, argv, SERVE_SETTINGS.cliOptions());
    if (positionals.length > 1) throw new UserError(`deepfusion ${NAME}: give one runs directory, got ${positionals.length}. See: deepfusion ${NAME} --help`);
    const dashboard = await startDashboard(positionals[0] ?? 'runs', values, `deepfusion ${NAME}`);
    console.error(`serving ${dashboard.root.real} until Ctrl-C`);
    await new Promise<void>((resolve) => {
      const stop = (): void => { void dashboard.close().then(resolve); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
