import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { meanCurve } from '../../src/plans/report';
import { Dashboard } from '../../src/serve/server';
import { runCli } from '../helpers/cli';
import { temporaryDir } from '../helpers/tmp';
import { trainRecord } from './fake_kinds';
import { DONE_ARM_POINTS, HELD_STEPS, makeRuns, type RunsFixture } from './fixtures';
import { request, SseReader } from './http_client';

const SECRET = 'TOP-SECRET-outside-the-runs-directory';

describe('dashboard server', () => {
  let fx: RunsFixture;
  let dash: Dashboard;
  let port: number;

  before(async () => {
    fx = await makeRuns();
    // Things outside the runs directory, and links to them from inside.
    const outside = temporaryDir();
    fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    fs.writeFileSync(path.join(outside, 'secret.md'), SECRET);
    fs.symlinkSync(path.join(outside, 'secret.md'), path.join(fx.root, 'leak.md'));
    fs.symlinkSync(outside, path.join(fx.root, 'outside'));
    dash = await Dashboard.start({ root: fx.root, port: 0, pollMs: 100 });
    port = dash.address.port;
  });

  after(async () => {
    await dash.close();
    await fx.release();
  });

  test('lists the plans and the run under the root with their states', async () => {
    const r = await request(port, '/api/list');
    assert.equal(r.status, 200);
    const list = JSON.parse(r.body) as Array<{ path: string; type: string; state: string; jobs?: { total: number; failed: number } }>;
    const byPath = Object.fromEntries(list.map((e) => [e.path, e]));
    assert.deepEqual(Object.keys(byPath).sort(), ['done', 'plans/live', fx.pretrain].sort());
    assert.equal(byPath.done.state, 'finished');
    assert.equal(byPath['plans/live'].state, 'running');
    assert.deepEqual(byPath['plans/live'].jobs, { total: 3, done: 1, running: 1, failed: 1 });
    assert.equal(byPath[fx.pretrain].type, 'run');
    assert.equal(byPath[fx.pretrain].state, 'finished');
  });

  test('serves the page, its libraries and a plan\'s report; nothing outside the runs directory, and no model weights', async () => {
    for (const p of ['/', '/app.js', '/charts.js', '/style.css', '/vendor/uPlot.esm.js', '/vendor/marked.esm.js']) {
      assert.equal((await request(port, p)).status, 200, p);
    }
    const report = await request(port, '/files/done/report.md');
    assert.equal(report.status, 200);
    assert.match(report.body, /^# done$/m);
    assert.match(String(report.headers['content-security-policy']), /script-src 'self'/);
    const attempts = [
      '/files/../secret.txt', '/files/%2e%2e/secret.txt', '/files/%2E%2E%2Fsecret.txt', '/files/..%2fsecret.txt', '/files/done/..%2f..%2fsecret.txt',
      '/files/%252e%252e/secret.txt', '/files/leak.md', '/files/outside/secret.md', '/files/outside%2fsecret.md', '/files/%00secret.md',
      `/files/${encodeURIComponent(path.join(path.dirname(fx.root), 'secret.md'))}`, '/files/..\\secret.md',
      '/api/model?path=..', `/api/model?path=${encodeURIComponent('../')}`, '/api/stream/run?path=..%2F..', '/api/stream/plan?path=outside',
      '/api/graph.svg?path=%2e%2e', `/files/${fx.pretrain}/final/model.safetensors`, `/files/${fx.pretrain}/final`,
    ];
    for (const p of attempts) {
      const r = await request(port, p);
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
      assert.doesNotMatch(r.body, /TOP-SECRET/, p);
    }
  });

  test('is read-only: anything but GET and HEAD is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await request(port, '/files/done/report.md', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    assert.equal((await request(port, '/files/done/report.md', { method: 'HEAD' })).status, 200);
  });

  test('without a token it answers only to loopback host names (no DNS rebinding)', async () => {
    assert.equal((await request(port, '/api/list', { headers: { Host: 'evil.example' } })).status, 403);
    assert.equal((await request(port, '/api/list', { headers: { Host: `evil.example:${port}` } })).status, 403);
    assert.equal((await request(port, '/api/list', { headers: { Host: `localhost:${port}` } })).status, 200);
    assert.equal((await request(port, '/api/list', { headers: { Host: `[::1]:${port}` } })).status, 200);
  });

  test('on another address every request needs the token: given once in the URL, then kept in a cookie', async () => {
    const open = await Dashboard.start({ root: fx.root, host: '0.0.0.0', port: 0 });
    try {
      const p = open.address.port;
      assert.ok(open.token && open.token.length >= 32, 'a random token is made');
      assert.match(open.url, new RegExp(`^http://localhost:${p}/\\?token=${open.token}$`));
      assert.equal((await request(p, '/api/list')).status, 403);
      assert.equal((await request(p, '/?token=wrong')).status, 403);
      const login = await request(p, `/?token=${open.token}`);
      assert.equal(login.status, 302);
      assert.equal(login.headers.location, '/', 'the token leaves the address bar');
      const cookie = (login.headers['set-cookie'] ?? [])[0] ?? '';
      assert.match(cookie, /HttpOnly; SameSite=Strict/);
      assert.equal((await request(p, '/api/list', { headers: { Cookie: cookie.split(';')[0] } })).status, 200);
      assert.equal((await request(p, '/api/list', { headers: { Authorization: `token ${open.token}` } })).status, 200);
      assert.equal((await request(p, '/api/list', { headers: { Cookie: `${cookie.split('=')[0]}=nope` } })).status, 403);
    } finally {
      await open.close();
    }
  });

  test("streams a running job's new metrics lines; damaged lines are skipped and a half-written one waits for its end", async () => {
    const held = fx.liveJobs.held;
    const file = path.join(fx.root, held, 'run', 'metrics.jsonl');
    const stream = new SseReader(port, `/api/stream/run?path=${encodeURIComponent(held)}`);
    try {
      const head = await stream.next('run');
      assert.equal(head.kind, 'job');
      assert.equal(head.state, 'running');
      assert.equal(head.status.machine !== undefined, true);
      assert.ok(head.flops_per_step > 0, 'FLOPs per step from run.json');
      const snap = await stream.next('metrics');
      assert.equal(snap.reset, true);
      assert.equal(snap.types.train.step.length, HELD_STEPS);
      const log = await stream.next('log');
      assert.match(log.text, /holding at step 25/);

      const line = (step: number) => JSON.stringify(trainRecord(step, 5));
      fs.appendFileSync(file, `${line(26)}\n{"type":"train","step":\nnot json at all\n[1,2]\n${line(27)}\n${line(28).slice(0, 20)}`);
      const batch = await stream.next('metrics');
      assert.deepEqual(batch.types.train.step, [26, 27]);
      assert.equal(batch.skipped, 3);
      fs.appendFileSync(file, `${line(28).slice(20)}\n`);
      const rest = await stream.next('metrics');
      assert.deepEqual(rest.types.train.step, [28]);
      assert.equal(rest.types.train.loss[0], trainRecord(28, 5).loss);
      assert.equal((await request(port, '/api/list')).status, 200, 'the server is still up');
    } finally {
      stream.close();
    }
  });

  test('a plan stream: the status, every job\'s curve, and the arms; a finished plan\'s arms are the report\'s Figure 1', async () => {
    const live = new SseReader(port, '/api/stream/plan?path=plans%2Flive');
    try {
      const head = await live.next('plan');
      assert.equal(head.state, 'running');
      assert.deepEqual(Object.fromEntries(head.status.jobs.map((j: { id: string; state: string }) => [j.id, j.state])), { warm: 'done', held: 'running', broken: 'failed' });
      assert.match(head.status.jobs.find((j: { id: string }) => j.id === 'broken').error, /deliberate failure/);
      const curves = new Map<string, number>();
      while (curves.size < 2) {
        const m = await live.next('metrics');
        curves.set(m.job, m.types.train.step.length);
      }
      assert.equal(curves.get('warm'), 40);
      assert.ok((curves.get('held') as number) >= HELD_STEPS);
      const arms = await live.next('arms');
      assert.deepEqual(arms.arms.map((a: { name: string }) => a.name).sort(), ['broken', 'held', 'warm']);
      assert.equal(arms.arms.find((a: { name: string }) => a.name === 'warm').loss.length, 9);
    } finally {
      live.close();
    }

    const done = new SseReader(port, '/api/stream/plan?path=done');
    try {
      const head = await done.next('plan');
      assert.equal(head.report, 'done/report.md');
      assert.ok(head.figures.includes('figure1_loss_vs_flops.svg'));
      const { arms } = await done.next('arms');
      const results = JSON.parse(fs.readFileSync(path.join(fx.root, 'done', 'results.json'), 'utf8'));
      for (const arm of arms) {
        const mean = meanCurve(results.arms.find((a: { name: string }) => a.name === arm.name).curves);
        assert.equal(arm.loss.length, DONE_ARM_POINTS[arm.name as keyof typeof DONE_ARM_POINTS], arm.name);
        assert.deepEqual(arm.flops, mean.map((p) => p.flops), arm.name);
        assert.deepEqual(arm.loss, mean.map((p) => p.loss), arm.name);
      }
    } finally {
      done.close();
    }
  });

  test('the graph shows the jobs by state', async () => {
    const r = await request(port, '/api/graph.svg?path=plans%2Flive');
    assert.equal(r.status, 200);
    assert.match(r.body, /^<svg /);
    assert.match(r.body, /fail on purpose · failed/);
    assert.match(r.body, /hold · 25 steps · running 25\/250/);
  });

  test('deepfusion serve: a missing directory, a bad port and dashboard flags without --serve are one error line each', () => {
    const missing = runCli(['serve', path.join(fx.root, 'no-such-dir')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^error: .*no-such-dir: no such directory\. Fix: /);
    const badPort = runCli(['serve', fx.root, '--port', '70000']);
    assert.equal(badPort.status, 2);
    assert.match(badPort.stderr, /^error: deepfusion serve: --port must be an integer in \[0, 65535\], got 70000/);
    const stray = runCli(['run', 'demo', '--port', '9000']);
    assert.equal(stray.status, 2);
    assert.match(stray.stderr, /^error: deepfusion run: --port configures the dashboard\. Fix: add --serve/);
  });
});
