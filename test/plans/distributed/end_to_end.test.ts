// `deepfusion run --queue` end to end with the real node kinds: a tiny plan (train, fuse,
// self-fuse, continue) on two worker processes with separate work directories and caches, an S3
// store (s3rver on the loopback address) and a corpus and tokenizer of the user's own files,
// against the same plan run by the local executor. Every job computes the same bits: both runs
// give each job one thread, so the comparison holds whatever the thread count does to results.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { connect, QUEUE_NAME, QUEUE_PREFIX } from '../../../src/plans/distributed/queue';
import { LocalProcessExecutor } from '../../../src/plans/executor';
import type { JobResult } from '../../../src/plans/job';
import { loadPlan } from '../../../src/plans/run_plan_file';
import { REPORT_FILE, RESULTS_FILE } from '../../../src/plans/report';
import { runPlan } from '../../../src/plans/runner';
import { TEST_BACKENDS } from '../../helpers/backends';
import { smallCorpusAndTokenizer } from '../../helpers/corpus';
import { temporaryDir } from '../../helpers/tmp';
import { runCliAsync, startRedis, startS3, startWorker, type RedisServer, type S3Server, type WorkerProcess } from './servers';

const BACKEND = TEST_BACKENDS.includes('native') ? 'native' : 'cpu';

/** What a job computed: everything but where, when and how fast. */
function numbers(r: JobResult): unknown {
  const { seconds: _s, peak_rss_mb: _p, worker: _w, queue_seconds: _q, evals, facts, ...rest } = r;
  const { resumed: _r, ...kept } = facts;
  return { ...rest, facts: kept, evals: evals.map(({ seconds: _e, ...e }) => e) };
}

describe(`deepfusion run --queue: a tiny plan on two workers and an S3 store (${BACKEND})`, () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const dir = temporaryDir();
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const planFile = path.join(dir, 'tiny.yaml');
  fs.writeFileSync(planFile, `name: tiny
description: Two tiny T5s fused and trained on, a self-fusion, against one trained from scratch.
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
defaults: {batch_size: 4, lr: 0.03, eval_every: 2, checkpoint_every: 2}
nodes:
  a: {train: {preset: tiny, steps: 4, seed: 1}}
  b: {train: {preset: tiny, steps: 4, seed: 2}}
  f: {fuse: {sources: [a, b]}}
  g: {train: {from: f, steps: 2, seed: 3}}
  s: {selfFuse: {source: a, noise: "paired:0.01"}}
  t: {train: {from: s, steps: 2}}
  base: {train: {preset: tiny, steps: 6, seed: 4}}
arms:
  scratch: base
  fusion: g
  self: t
baseline: scratch
`);
  const env = { DEEPFUSION_BACKEND: BACKEND };
  let redis: RedisServer;
  let s3: S3Server;
  const workers: WorkerProcess[] = [];

  before(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    for (const name of ['m1', 'm2']) workers.push(await startWorker({ queue: redis.url, store: s3.url, name, env: { ...env, ...s3.env } }));
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await redis.stop();
    await s3.stop();
  });

  test('every job gives the local executor\'s numbers, bit for bit; the report names the workers', async () => {
    const out = path.join(dir, 'queued');
    const r = await runCliAsync(['run', planFile, '--out', out, '--queue', redis.url, '--store', s3.url],
      { ...env, ...s3.env, DEEPFUSION_CACHE: temporaryDir() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^queued +a$/m);
    assert.match(r.stderr, /^started +a on m[12] \(1 thread\)$/m);
    assert.match(r.stderr, /^finished f in .* on m[12] \(fused, logits rel\. error/m);
    const queued = JSON.parse(fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8')).jobs as Record<string, JobResult>;

    // The same plan here, one thread per job (cores: 1), on the same backend.
    process.env.DEEPFUSION_BACKEND = BACKEND;
    process.env.DEEPFUSION_CACHE = temporaryDir();
    const local = await runPlan(loadPlan(planFile), { outDir: path.join(dir, 'local'), executor: new LocalProcessExecutor({ capacity: 2 }), cores: 1 });
    assert.equal(Object.keys(queued).length, 7);
    for (const [id, result] of local.results) assert.deepEqual(numbers(queued[id]), numbers(result), id);
    assert.ok(Object.values(queued).every((q) => q.worker === 'm1' || q.worker === 'm2'));
    // Both workers took part: each fetched inputs it had not made itself, from the store.
    assert.deepEqual(new Set(Object.values(queued).map((q) => q.worker)), new Set(['m1', 'm2']));
    const report = fs.readFileSync(path.join(out, REPORT_FILE), 'utf8');
    assert.match(report, /^\| job \| what \| .* \| worker \|$/m);
    assert.match(report, /^\| g \| train from f · 2 steps \| 2 \| .* \| m[12] \|$/m);
  });

  test('a worker refuses a job whose message fails validation, at once, without retries', async () => {
    const connection = connect(redis.url);
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const job = await queue.add('train', {
      format: 1, run: '0123456789abcdef', id: 'evil', kind: 'train', key: '0123456789abcdef', settings: {},
      data: { corpus: '/etc/passwd', tokenizer: 'default', vocab_size: 8192, input_length: 64, eval_batches: 1, eval_batch_size: 1 },
      files: {}, inputs: [],
    });
    for (let i = 0; i < 100 && !(await job.isFailed()); i++) await new Promise((res) => setTimeout(res, 100));
    const failed = await queue.getJob(job.id as string);
    assert.equal(failed?.attemptsMade, 1);
    assert.match(failed?.failedReason ?? '', /^user error: refused: data\.corpus is a file, and files\.corpus is not a store reference to it$/);
    await queue.close();
    connection.disconnect();
  });
});

describe('deepfusion run --queue over TLS with a password (rediss://)', () => {
  const { corpus, tokenizer } = smallCorpusAndTokenizer();
  const dir = temporaryDir();
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const planFile = path.join(dir, 'one.yaml');
  fs.writeFileSync(planFile, `name: one
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
nodes:
  a: {train: {preset: tiny, steps: 2, batch_size: 4, eval_every: 2}}
arms: {a: a}
`);
  const store = temporaryDir();
  let redis: RedisServer;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  before(async () => {
    redis = await startRedis({ tls: true, password: 'correct horse' });
    env = { DEEPFUSION_BACKEND: BACKEND, NODE_EXTRA_CA_CERTS: redis.ca as string, DEEPFUSION_CACHE: temporaryDir() };
    worker = await startWorker({ queue: redis.url.replace(' ', '%20'), store, name: 'tls', env });
  });
  after(async () => {
    await worker.stop();
    await redis.stop();
  });

  test('the plan runs over TLS; a wrong password is one error line, exit 2, without the password', async () => {
    const url = redis.url.replace(' ', '%20');
    assert.match(url, /^rediss:\/\/:correct%20horse@127\.0\.0\.1:\d+$/);
    const ok = await runCliAsync(['run', planFile, '--out', path.join(dir, 'out'), '--queue', url, '--store', store], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /^finished a in .* on tls \(val loss/m);
    assert.doesNotMatch(ok.stderr, /correct/, 'the password is never printed');

    const wrong = await runCliAsync(['run', planFile, '--queue', url.replace('correct%20horse', 'wrong'), '--store', store], env);
    assert.equal(wrong.status, 2, wrong.stderr);
    assert.match(wrong.stderr, /^error: the queue at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(.*\)\. Fix: /);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
  });
});
