import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { CLI } from '../helpers/cli';
import { smallCorpusAndTokenizer } from '../helpers/corpus';
import { temporaryDir } from '../helpers/tmp';
import { request } from './http_client';

/** The CLI in a child process, with its stderr collected. */
function start(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEEPFUSION_BACKEND: process.env.DEEPFUSION_BACKEND ?? 'cpu', DEEPFUSION_CACHE: temporaryDir() },
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => { err += b.toString(); });
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function until<T>(what: string, f: () => T | undefined, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deepfusion serve and run --serve', () => {
  test('serve prints the address once, answers, and stops on Ctrl-C', async () => {
    const dir = temporaryDir();
    const s = start(['serve', dir, '--port', '0']);
    const port = Number(await until('the address', () => /dashboard: http:\/\/127\.0\.0\.1:(\d+)\/\n/.exec(s.stderr())?.[1]));
    assert.deepEqual(JSON.parse((await request(port, '/api/list')).body), []);
    s.child.kill('SIGINT');
    assert.equal(await s.exit, 0);
  });

  test('run --serve serves the plan while it runs and after it ends, until Ctrl-C', async () => {
    const { corpus, tokenizer } = smallCorpusAndTokenizer();
    const dir = temporaryDir();
    const tokenizerFile = path.join(dir, 'tokenizer.json');
    tokenizer.save(tokenizerFile);
    const planFile = path.join(dir, 'mini.yaml');
    fs.writeFileSync(planFile, `name: mini
data: {corpus: ${JSON.stringify(corpus.source)}, tokenizer: ${JSON.stringify(tokenizerFile)}, input_length: 32, eval_batches: 1, eval_batch_size: 4}
defaults: {batch_size: 4, lr: 0.03, eval_every: 2}
nodes:
  a: {train: {preset: tiny, steps: 2, seed: 1}}
`);
    const out = path.join(dir, 'out');
    const s = start(['run', planFile, '--out', out, '--serve', '--port', '0']);
    const port = Number(await until('the address', () => /dashboard: http:\/\/127\.0\.0\.1:(\d+)\/\n/.exec(s.stderr())?.[1]));
    await until('the end of the plan', () => (/the dashboard is still at http:\/\/127\.0\.0\.1:\d+\/ — Ctrl-C/.test(s.stderr()) ? true : undefined));
    // The plan's own directory is the root: the list is that one plan.
    const list = JSON.parse((await request(port, '/api/list')).body) as Array<{ path: string; type: string; state: string }>;
    assert.deepEqual(list.map((e) => [e.path, e.type, e.state]), [['', 'plan', 'finished']]);
    assert.match((await request(port, '/files/report.md')).body, /^# mini$/m);
    assert.equal((s.stderr().match(/dashboard: http/g) ?? []).length, 1, 'the address is printed once');
    s.child.kill('SIGINT');
    assert.equal(await s.exit, 0);
  });
});
