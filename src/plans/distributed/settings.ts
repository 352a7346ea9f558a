// The settings of running plans on several machines, declared once (src/util/settings.ts): the
// flags and --help lines of `deepfusion run --queue` and `deepfusion worker` derive from here.
// None of them changes what a job computes (identity: false). See docs/distributed.md.
import * as path from 'node:path';
import { defaultCacheDir } from '../../io/cache';
import { custom, defineSettings, int, SettingProblem, text } from '../../util/settings';

/** Redacts the password of a redis:// URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

const queueUrl = custom<string | undefined>({
  group: 'Cluster', arg: '<redis://host:port>',
  help: 'the Redis server of the job queue: redis://[:password@]host:port[/db], or rediss:// for TLS ' +
    '(a private CA: NODE_EXTRA_CA_CERTS=ca.pem)',
  identity: false,
  parse: (v) => {
    let u: URL | undefined;
    try {
      if (typeof v === 'string') u = new URL(v);
    } catch { /* reported below */ }
    if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') {
      throw new SettingProblem(`expected a redis:// or rediss:// URL, got ${JSON.stringify(typeof v === 'string' ? redactUrl(v) : v)}`,
        'a URL like redis://127.0.0.1:6379');
    }
    return v as string;
  },
});

/** The store's default: a directory in the cache, which the runner and the workers of one machine share. */
export function defaultStore(): string {
  return path.join(defaultCacheDir(), 'store');
}

export const QUEUE_SETTINGS = defineSettings('cluster setting', {
  queue: queueUrl,
  store: text({
    group: 'Cluster', arg: '<dir|s3://bucket/prefix>', identity: false, defaultText: '$DEEPFUSION_CACHE/store',
    help: 'where jobs\' inputs and outputs live, shared by the runner and every worker: a directory every machine ' +
      'mounts (NFS and the like) or an S3 bucket (s3://bucket/prefix?endpoint=http://host:port for S3-compatible servers; ' +
      'credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
  }),
});

export const WORKER_SETTINGS = QUEUE_SETTINGS.with(defineSettings('worker setting', {
  slots: int({ default: 1, min: 1, max: 256, group: 'Worker', identity: false, help: 'jobs this worker runs at once' }),
  threads: int({
    min: 1, max: 4096, group: 'Worker', identity: false, defaultText: 'cores / slots',
    help: 'compute threads each job gets (results do not depend on it)',
  }),
  work_dir: text({
    group: 'Worker', arg: '<dir>', identity: false, defaultText: '$DEEPFUSION_CACHE/work',
    help: 'local directory for the jobs\' files: inputs fetched from the store, outputs before they are published; a cache, safe to delete while the worker is stopped',
  }),
  name: text({ group: 'Worker', arg: '<name>', identity: false, defaultText: 'host:pid', help: 'how the board and the report name this worker' }),
  stall_seconds: int({
    default: 30, min: 1, max: 3600, group: 'Worker', identity: false,
    help: 'a job whose worker has not renewed its lock for this long (killed, machine lost) goes to another worker, which resumes it from its last checkpoint',
  }),
}));
