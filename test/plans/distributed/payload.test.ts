// What a worker accepts from the queue: validated job specs, never code or paths.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandPlan } from '../../../src/plans/graph';
import type { JobResult, JobSpec } from '../../../src/plans/job';
import { nodeKinds } from '../../../src/plans/kinds';
import { checkQueuedJob, queuedJob, type QueuedJob } from '../../../src/plans/distributed/payload';
import { loadPlan } from '../../../src/plans/run_plan_file';

const RUN = '00112233aabbccdd';
const CORPUS_REF = `${'ab'.repeat(16)}/chapters`;

/** The messages of the bundled demo plan's jobs, as the runner builds them (with a corpus file of the user's). */
function messages(): QueuedJob[] {
  const plan = loadPlan('demo');
  const data = { ...plan.data, corpus: '/home/me/chapters' };
  const { jobs } = expandPlan({ ...plan, data });
  const keys = new Map(jobs.map((j) => [j.id, j.key]));
  return jobs.map((j) => {
    const spec: JobSpec = {
      id: j.id, kind: j.kind, key: j.key, dir: `/out/jobs/${j.key}`, settings: j.settings, data, threads: 2,
      inputs: j.inputs.map((i) => ({ id: i, key: keys.get(i) as string, dir: `/out/jobs/${keys.get(i)}`, result: {} as JobResult })),
    };
    return JSON.parse(JSON.stringify(queuedJob(spec, RUN, { corpus: CORPUS_REF }))) as QueuedJob;
  });
}

const refused = (m: unknown, reason: RegExp) => assert.throws(() => checkQueuedJob(m, nodeKinds), (e: Error) => {
  assert.equal(e.name, 'RefusedJob');
  assert.match(e.message, reason);
  return true;
});

describe('queue messages', () => {
  test('the demo plan\'s jobs pass, after a trip through JSON; no message holds a path', () => {
    const all = messages();
    assert.equal(all.length, 7);
    for (const m of all) {
      assert.deepEqual(checkQueuedJob(m, nodeKinds), m);
      assert.doesNotMatch(JSON.stringify({ ...m, data: { ...m.data, corpus: 'x' } }), /\/out\/|\/home\//);
    }
  });

  test('a tampered, malformed or unsafe message is refused, naming why', () => {
    const [small, , fused] = messages();
    const m = messages().find((x) => x.id === 'fused_trained') as QueuedJob;
    refused({ ...small, settings: { ...(small.settings as object), steps: 401 } }, /the key is not the content hash/);
    refused({ ...small, kind: 'exec' }, /unknown node kind "exec"/);
    refused({ ...small, code: 'require("child_process")' }, /unknown field "code"/);
    refused({ ...small, format: 2 }, /format 2, this worker reads format 1/);
    refused({ ...small, run: '../x' }, /run is not a run id/);
    refused({ ...small, key: '../../etc' }, /key is not a job key/);
    refused({ ...m, inputs: [] }, /the train settings read 1 inputs, the message gives 0/);
    refused({ ...fused, inputs: ['../../../../etc/xx'] }, /inputs are not a list of job keys/);
    refused({ ...small, files: {} }, /data\.corpus is a file, and files\.corpus is not a store reference/);
    refused({ ...small, files: { corpus: `${'ab'.repeat(16)}/../../etc` } }, /files\.corpus is not a store reference/);
    refused({ ...small, files: { corpus: '/etc/passwd' } }, /files\.corpus is not a store reference/);
    refused({ ...small, files: { corpus: CORPUS_REF, model: CORPUS_REF } }, /files\.model is not a data file/);
    refused({ ...small, data: { ...small.data, input_length: -1 } }, /input_length/);
    refused({ ...small, settings: 'rm -rf /' }, /settings are not an object/);
    refused({ ...small, id: 'x\u001b[2J' }, /id is not a job name/);
    refused({ ...small, settings: { ...(small.settings as object), pad: 'x'.repeat(2 << 20) } }, /larger than/);
    refused('{}', /not an object/);
  });
});
