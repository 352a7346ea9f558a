// What a queue message holds: a job spec as data — the node kind's name, its parsed settings, the
// plan's data settings, the input jobs' keys — and never code or a path. Files travel through
// the store: a plan's corpus or tokenizer file as a content reference (`files`), input models as
// the keys of the jobs that made them. A worker checks every message before it runs anything,
// including that the key is the content hash of what the message says, and refuses the job
// otherwise (docs/distributed.md#security).
import { DATA_SETTINGS, type DataSettings } from '../../data/settings';
import { UserError } from '../../errors';
import { canonicalJson, contentKey } from '../graph';
import type { JobSpec, NodeKinds } from '../job';
import { DATA_REF, KEY_PATTERN } from './artifacts';

export const PAYLOAD_FORMAT = 1;

export interface QueuedJob {
  format: typeof PAYLOAD_FORMAT;
  /** The runner's mark in the store (runs/<id>.json): a worker with another store refuses the job. */
  run: string;
  /** The job's name in the plan, for messages (e.g. `small_a@1`). */
  id: string;
  kind: string;
  key: string;
  settings: unknown;
  /** The plan's data settings, as the key was computed from them; path-valued ones are not opened. */
  data: DataSettings;
  /** Store references that replace the path-valued data settings (corpus, tokenizer) on workers. */
  files: { corpus?: string; tokenizer?: string };
  /** Keys of the input jobs, in the node's input order. */
  inputs: string[];
}

/** The message of a job spec (the runner's view: directories, input results) for the queue. */
export function queuedJob(spec: JobSpec, run: string, files: QueuedJob['files']): QueuedJob {
  return {
    format: PAYLOAD_FORMAT, run, id: spec.id, kind: spec.kind, key: spec.key, settings: spec.settings, data: spec.data, files,
    inputs: spec.inputs.map((i) => i.key),
  };
}

/** A message a worker will not run, and why: a user error (the runner stops with it, exit 2). */
export class RefusedJob extends UserError {
  constructor(reason: string) {
    super(`refused: ${reason}`);
    this.name = 'RefusedJob';
  }
}

const MAX_BYTES = 1 << 20;
const FIELDS = ['format', 'run', 'id', 'kind', 'key', 'settings', 'data', 'files', 'inputs'];
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const PATH_SETTINGS = ['corpus', 'tokenizer'] as const;

/** Checks a queue message and returns it typed; throws RefusedJob naming the first problem. */
export function checkQueuedJob(raw: unknown, kinds: NodeKinds): QueuedJob {
  const refuse = (why: string): never => { throw new RefusedJob(why); };
  if (!isObj(raw)) return refuse('the message is not an object');
  if (canonicalJson(raw).length > MAX_BYTES) refuse(`the message is larger than ${MAX_BYTES} bytes`);
  for (const k of Object.keys(raw)) if (!FIELDS.includes(k)) refuse(`unknown field "${k}"`);
  const m = raw as unknown as QueuedJob;
  if (m.format !== PAYLOAD_FORMAT) refuse(`format ${JSON.stringify(m.format)}, this worker reads format ${PAYLOAD_FORMAT} (update the older of runner and worker)`);
  if (typeof m.run !== 'string' || !/^[0-9a-f]{16}$/.test(m.run)) refuse('run is not a run id');
  if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 200 || /[\x00-\x1f\x7f]/.test(m.id)) refuse('id is not a job name');
  if (typeof m.key !== 'string' || !KEY_PATTERN.test(m.key)) refuse('key is not a job key');
  if (typeof m.kind !== 'string' || !Object.prototype.hasOwnProperty.call(kinds, m.kind)) refuse(`unknown node kind ${JSON.stringify(m.kind)}`);
  if (!isObj(m.settings)) refuse('settings are not an object');
  if (!Array.isArray(m.inputs) || m.inputs.length > 64 || !m.inputs.every((k) => typeof k === 'string' && KEY_PATTERN.test(k))) {
    refuse('inputs are not a list of job keys');
  }
  if (!isObj(m.data)) refuse('data is not an object');
  try {
    DATA_SETTINGS.resolve([{ values: m.data as unknown as Record<string, unknown>, source: 'data' }]);
  } catch (err) {
    refuse((err as Error).message);
  }
  if (!Number.isInteger(m.data.eval_batch_size)) refuse('data.eval_batch_size is missing');
  if (!isObj(m.files)) refuse('files is not an object');
  for (const k of Object.keys(m.files)) if (!(PATH_SETTINGS as readonly string[]).includes(k)) refuse(`files.${k} is not a data file`);
  for (const k of PATH_SETTINGS) {
    const ref = m.files[k];
    if (m.data[k] === 'default') {
      if (ref !== undefined) refuse(`files.${k} given for the default ${k}`);
    } else if (typeof ref !== 'string' || !DATA_REF.test(ref)) {
      refuse(`data.${k} is a file, and files.${k} is not a store reference to it`);
    }
  }
  const kind = kinds[m.kind];
  let wanted: number;
  try {
    wanted = kind.inputs(m.settings).length;
    kind.label(m.settings);
  } catch (err) {
    return refuse(`settings do not fit the ${m.kind} kind (${(err as Error).message})`);
  }
  if (wanted !== m.inputs.length) refuse(`the ${m.kind} settings read ${wanted} inputs, the message gives ${m.inputs.length}`);
  if (contentKey({ kind: m.kind, settings: m.settings, data: m.data, inputs: m.inputs }) !== m.key) {
    refuse('the key is not the content hash of the kind, settings, data and inputs');
  }
  return m;
}
