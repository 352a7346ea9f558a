// The store behind distributed plans, on both implementations: a directory and an S3-compatible
// server (s3rver on the loopback address). Objects, snapshots through manifests, checkpoints.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CheckpointPublisher, downloadSnapshot, fetchData, fetchInput, publishData, publishOutput, readDone, restoreCheckpoint,
  storeKeys, uploadSnapshot,
} from '../../../src/plans/distributed/artifacts';
import { openStore } from '../../../src/plans/distributed/open_store';
import { isSafeKey, type ArtifactStore } from '../../../src/plans/distributed/store';
import type { JobResult } from '../../../src/plans/job';
import { temporaryDir } from '../../helpers/tmp';
import { startS3, type S3Server } from './servers';

const write = (file: string, text: string | Buffer) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const files = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[])
  .filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => f.split(path.sep).join('/')).sort() : []);

/** A train job's directory as the training loop leaves it mid-run. */
function trainingJob(dir: string, steps: number[]): void {
  write(path.join(dir, 'run', 'run.json'), '{"seed": 1}\n');
  write(path.join(dir, 'run', 'metrics.jsonl'), steps.map((s) => `{"step": ${s}}`).join('\n'));
  write(path.join(dir, 'run', 'run.lock'), '123');
  write(path.join(dir, 'log.txt'), 'log\n');
  for (const s of steps) {
    const ckpt = path.join(dir, 'run', 'checkpoints', `step-${String(s).padStart(8, '0')}`);
    write(path.join(ckpt, 'model.safetensors'), Buffer.alloc(1000 + s, s));
    write(path.join(ckpt, 'trainer_state.json'), `{"step": ${s}}`);
  }
  write(path.join(dir, 'run', 'checkpoints', '.step-00000999.tmp-1-2-3', 'half'), 'x');
}

const RESULT: JobResult = { kind: 'train', model: 'run/final', flops: 1, seconds: 1, steps: 4, peak_rss_mb: 1, evals: [], facts: {} };
const KEY = '0123456789abcdef';

function storeTests(name: string, open: () => ArtifactStore): void {
  describe(`the ${name} store`, () => {
    test('objects: text and files round-trip, list by prefix, remove; unsafe keys are refused', async () => {
      const store = open();
      assert.equal(await store.readText('a/missing.json'), undefined);
      await store.writeText('a/b.json', '{"x": 1}');
      assert.equal(await store.readText('a/b.json'), '{"x": 1}');
      const src = path.join(temporaryDir(), 'blob');
      const bytes = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 251));
      fs.writeFileSync(src, bytes);
      await store.upload('a/c/blob.bin', src);
      const dst = path.join(temporaryDir(), 'copy');
      assert.equal(await store.download('a/c/blob.bin', dst), true);
      assert.ok(fs.readFileSync(dst).equals(bytes));
      assert.equal(await store.download('a/nothing', dst), false);
      assert.deepEqual(await store.list('a/'), ['a/b.json', 'a/c/blob.bin']);
      assert.deepEqual(await store.list('a/c'), ['a/c/blob.bin']);
      await store.remove(['a/b.json']);
      assert.deepEqual(await store.list('a/'), ['a/c/blob.bin']);
      for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/.hidden', 'a\\b', 'a/b\u0000']) {
        assert.equal(isSafeKey(bad), false, bad);
        await assert.rejects(store.writeText(bad, 'x'), /unsafe store key/);
      }
    });

    test('a snapshot appears whole through its manifest; a damaged file is refused and nothing is placed', async () => {
      const store = open();
      const src = temporaryDir();
      write(path.join(src, 'model', 'config.json'), '{}');
      write(path.join(src, 'model', 'model.safetensors'), Buffer.alloc(5000, 3));
      write(path.join(src, 'result.txt'), 'r');
      const manifest = await uploadSnapshot(store, 'snaps', src, ['model/config.json', 'model/model.safetensors', 'result.txt']);
      const whole = path.join(temporaryDir(), 'whole');
      await downloadSnapshot(store, 'snaps', manifest, whole);
      assert.deepEqual(files(whole), ['model/config.json', 'model/model.safetensors', 'result.txt']);
      const part = path.join(temporaryDir(), 'part');
      await downloadSnapshot(store, 'snaps', manifest, part, 'model');
      assert.deepEqual(files(part), ['config.json', 'model.safetensors']);
      // Another writer's bytes under the same name: the hash in the manifest catches it.
      const other = path.join(temporaryDir(), 'other');
      fs.writeFileSync(other, Buffer.alloc(5000, 4));
      await store.upload(`snaps/${manifest.snapshot}/model/model.safetensors`, other);
      const damaged = path.join(temporaryDir(), 'damaged');
      await assert.rejects(downloadSnapshot(store, 'snaps', manifest, damaged), /does not match its manifest/);
      assert.equal(fs.existsSync(damaged), false);
    });

    test('checkpoints: only the newest is published, once; another machine resumes from it; the output replaces it', async () => {
      const store = open();
      const job = path.join(temporaryDir(), KEY);
      trainingJob(job, [2, 4]);
      const publisher = new CheckpointPublisher(store, KEY, job, temporaryDir(), 'm1');
      assert.equal(await publisher.publish(), true);
      assert.equal(await publisher.publish(), false, 'nothing new');
      const moved = path.join(temporaryDir(), KEY);
      assert.deepEqual(await restoreCheckpoint(store, KEY, moved), { progress: 4, fromStore: true });
      assert.deepEqual(files(moved), ['run/checkpoints/step-00000004/model.safetensors', 'run/checkpoints/step-00000004/trainer_state.json',
        'run/metrics.jsonl', 'run/run.json']);
      // A newer checkpoint replaces the older one in the store.
      trainingJob(job, [4, 6]);
      fs.rmSync(path.join(job, 'run', 'checkpoints', 'step-00000002'), { recursive: true });
      assert.equal(await publisher.publish(), true);
      const snapshots = new Set((await store.list(`${storeKeys.snapshots(KEY)}/`)).map((k) => k.split('/')[3]));
      assert.equal(snapshots.size, 1, 'the older checkpoint\'s files are gone');
      // Local work at least as far along is kept.
      assert.deepEqual(await restoreCheckpoint(store, KEY, job), { progress: 6, fromStore: false });
      assert.ok(fs.existsSync(path.join(job, 'log.txt')));
      // Done: the output (no checkpoints, no scratch) and then done.json; the checkpoint goes.
      write(path.join(job, 'run', 'final', 'model.safetensors'), Buffer.alloc(10, 1));
      await publishOutput(store, KEY, job, RESULT, 'm1');
      const done = await readDone(store, KEY);
      assert.equal(done?.worker, 'm1');
      assert.deepEqual(done?.output.files.map((f) => f.path), ['log.txt', 'run/final/model.safetensors', 'run/metrics.jsonl', 'run/run.json']);
      assert.equal(await store.readText(storeKeys.checkpoint(KEY)), undefined);
      const jobsDir = temporaryDir();
      assert.deepEqual(await fetchInput(store, KEY, jobsDir), RESULT);
      assert.deepEqual(files(path.join(jobsDir, KEY)), ['run/final/model.safetensors']);
    });

    test('a corpus directory travels by content, with its files\' relative names', async () => {
      const store = open();
      const corpus = path.join(temporaryDir(), 'my corpus');
      write(path.join(corpus, 'a.txt'), 'alpha');
      write(path.join(corpus, 'sub', 'b.md'), 'beta');
      write(path.join(corpus, 'notes.bin'), 'not a corpus file');
      const ref = await publishData(store, corpus);
      assert.match(ref, /^[0-9a-f]{32}\/my corpus$/);
      assert.equal(await publishData(store, corpus), ref, 'the same content, the same reference');
      const work = temporaryDir();
      const local = await fetchData(store, ref, work);
      assert.equal(local, `data/${ref}`);
      assert.deepEqual(files(path.join(work, local)), ['a.txt', 'sub/b.md']);
      write(path.join(corpus, 'a.txt'), 'alpha, edited');
      assert.notEqual(await publishData(store, corpus), ref);
    });
  });
}

storeTests('directory', () => openStore(temporaryDir()));

let s3: S3Server;
before(async () => {
  s3 = await startS3();
  Object.assign(process.env, s3.env);
});
after(async () => { await s3.stop(); });
let bucketPrefix = 0;
storeTests('S3', () => openStore(s3.url.replace('/store?', `/t${bucketPrefix++}?`)));
