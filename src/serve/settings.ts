// The dashboard's settings (src/util/settings.ts): `deepfusion serve`'s flags, and `deepfusion
// run --serve`'s. None of them changes what a run computes.
import { bool, defineSettings, int, text, type SettingValues } from '../util/settings';

export const LOOPBACK_HOST = '127.0.0.1';

export const SERVE_SETTINGS = defineSettings('dashboard setting', {
  port: int({ default: 8080, min: 0, max: 65_535, group: 'Dashboard', identity: false, help: 'TCP port (0: any free port)' }),
  host: text({
    default: LOOPBACK_HOST, arg: '<address>', group: 'Dashboard', identity: false,
    help: 'address to listen on; any other than a loopback address (e.g. 0.0.0.0) requires the token',
  }),
  token: text({
    arg: '<text>', group: 'Dashboard', identity: false,
    defaultText: 'none on a loopback address, else a random one printed once in the URL',
    help: 'secret every request must carry: open the printed URL (…/?token=<text>) once and the browser keeps it in a cookie',
  }),
});

export type ServeSettings = SettingValues<typeof SERVE_SETTINGS.decls>;

/** `deepfusion run`'s switch that starts the dashboard beside the plan. */
export const RUN_SERVE_SETTINGS = defineSettings('dashboard setting', {
  serve: bool({
    default: false, group: 'Dashboard', identity: false,
    help: "serve the live dashboard of the plan's output directory while it runs, and after it ends until Ctrl-C (docs/dashboard.md)",
  }),
}).with(SERVE_SETTINGS);
