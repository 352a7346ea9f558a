// The dashboard in a real browser: Debian's chromium, driven by puppeteer-core. Without chromium
// these tests skip with a message, except in CI (CI set), where .ci/run installs chromium and a
// missing browser is a failure, not a silent skip.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { Dashboard } from '../../src/serve/server';
import { CHROMIUM_MISSING as MISSING, launchChromium } from '../helpers/browser';
import { temporaryDir } from '../helpers/tmp';
import { trainRecord } from './fake_kinds';
import { DONE_ARM_POINTS, HELD_STEPS, makeRuns, type RunsFixture } from './fixtures';

// The page's globals, as the callbacks below use them: they run in the browser, not in Node.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  complete?: boolean;
  naturalWidth?: number;
  value?: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  dispatchEvent(event: unknown): boolean;
}
declare const document: { getElementById(id: string): PageElement | null; querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> & { length: number } };
declare const location: { hash: string };
declare const Event: new (type: string) => unknown;

const IN_CI = ['1', 'true'].includes((process.env.CI ?? '').toLowerCase());

/** The points each series of a chart drew (the chart's data-points). */
async function points(page: Page, chart: string): Promise<Record<string, number>> {
  return page.$eval(`#${chart}`, (el) => JSON.parse((el as unknown as PageElement).dataset.points ?? '{}') as Record<string, number>);
}

async function waitForPoints(page: Page, chart: string, expected: Record<string, number>, timeout = 15_000): Promise<void> {
  try {
    await page.waitForFunction((id, want) => {
      const el = document.getElementById(id);
      if (!el?.dataset.points) return false;
      const got = JSON.parse(el.dataset.points) as Record<string, number>;
      return Object.entries(want).every(([k, v]) => got[k] === v);
    }, { timeout, polling: 100 }, chart, expected);
  } catch {
    assert.fail(`${chart}: expected points ${JSON.stringify(expected)}, the page shows ${JSON.stringify(await points(page, chart).catch(() => ({})))}`);
  }
}

const go = (page: Page, hash: string) => page.evaluate((h) => { location.hash = h; }, hash);

describe('the dashboard in a real browser', { skip: !IN_CI && MISSING ? `${MISSING} (.ci/run installs it)` : false }, () => {
  let fx: RunsFixture;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shots = process.env.DEEPFUSION_SCREENSHOT_DIR ?? temporaryDir();

  before(async () => {
    assert.equal(MISSING, undefined, `${MISSING}; in CI (CI=${process.env.CI}) the browser tests must run`);
    fx = await makeRuns();
    dash = await Dashboard.start({ root: fx.root, port: 0, pollMs: 200 });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    // ERR_ABORTED is the page cancelling a request itself (a view closing its stream): not a failure.
    page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
    await fx?.release();
  });

  test('the page loads with no console errors and lists the plans and the run', async () => {
    await page.goto(dash.url, { waitUntil: 'load' });
    await page.waitForSelector('#overview tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('#overview tbody tr').length === 3);
    const rows = await page.$$eval('#overview tbody tr', (trs) => trs.map((tr) => [
      (tr as unknown as PageElement).dataset.path, tr.querySelector('[data-state]')?.getAttribute('data-state'),
    ]));
    assert.deepEqual(Object.fromEntries(rows), { done: 'finished', 'plans/live': 'running', [fx.pretrain]: 'finished' });
    assert.equal(await page.$eval('#conn', (el) => el.textContent), 'live');
    assert.deepEqual(problems, []);
  });

  test('a finished plan: the arms chart has one point per evaluation, and the report shows its tables and figures', async () => {
    await go(page, '#/plan/done');
    await waitForPoints(page, 'arms-chart', DONE_ARM_POINTS);
    // Training loss by job: every step of every job (two repeats of three nodes).
    await waitForPoints(page, 'train-chart', { 'small@0': 30, 'grown@0': 20, 'base@0': 50, 'base@1': 50 });
    await page.waitForSelector('#report table');
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#report img')] as PageElement[];
      return imgs.length >= 4 && imgs.every((i) => i.complete && (i.naturalWidth ?? 0) > 0);
    }, { timeout: 15_000 });
    const headings = await page.$$eval('#report h2', (hs) => hs.map((h) => h.textContent));
    assert.deepEqual(headings.slice(0, 4), ['Report', 'Verdict', 'Arms (mean ± std over 2 repeats)', 'Figures']);
    // The x axis switched to wall time keeps the points; log axes too.
    await page.$$eval('section .controls select', (ss) => {
      const s = ss[0] as unknown as PageElement;
      s.value = 'seconds';
      s.dispatchEvent(new Event('change'));
    });
    await waitForPoints(page, 'arms-chart', DONE_ARM_POINTS);
    await page.screenshot({ path: path.join(shots, 'dashboard-finished-plan.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  test('a running plan: every job\'s state, and the graph', async () => {
    await go(page, '#/plan/plans%2Flive');
    await page.waitForSelector('#jobs tbody tr[data-job="broken"]');
    const states = await page.$$eval('#jobs tbody tr', (trs) => trs.map((tr) => [(tr as unknown as PageElement).dataset.job, (tr as unknown as PageElement).dataset.state]));
    assert.deepEqual(Object.fromEntries(states), { warm: 'done', held: 'running', broken: 'failed' });
    await page.waitForFunction(() => {
      const g = document.querySelector('img.graph') as PageElement | null;
      return !!g && g.complete && (g.naturalWidth ?? 0) > 0;
    });
    assert.deepEqual(problems, []);
  });

  test("a running job's chart grows within seconds when lines are appended to its metrics.jsonl", async () => {
    await go(page, `#/run/${encodeURIComponent(fx.liveJobs.held)}`);
    await waitForPoints(page, 'loss-chart', { 'training loss': HELD_STEPS, 'validation loss': 1 });
    const file = path.join(fx.root, fx.liveJobs.held, 'run', 'metrics.jsonl');
    const more = Array.from({ length: 5 }, (_, i) => JSON.stringify(trainRecord(HELD_STEPS + 1 + i, 5)));
    // Five lines, a damaged one between them, and the start of a sixth still being written.
    fs.appendFileSync(file, `${more.slice(0, 2).join('\n')}\n{"type":"train","st\n${more.slice(2).join('\n')}\n{"type":"tra`);
    await waitForPoints(page, 'loss-chart', { 'training loss': HELD_STEPS + 5 }, 10_000);
    await page.waitForFunction(() => document.getElementById('skipped')?.textContent?.startsWith('1 damaged line'));
    // The same growth on the plan's overview.
    await go(page, '#/plan/plans%2Flive');
    await waitForPoints(page, 'train-chart', { held: HELD_STEPS + 5, warm: 40 });
    await page.screenshot({ path: path.join(shots, 'dashboard-running-plan.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  test("a failed job's page shows its log and its error", async () => {
    await go(page, `#/run/${encodeURIComponent(fx.liveJobs.broken)}`);
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('deliberate failure for the dashboard test'));
    const error = await page.waitForSelector('#job-error');
    assert.match(await error!.evaluate((el) => el.textContent ?? ''), /job broken failed: deliberate failure/);
    assert.deepEqual(problems, []);
  });

  test('a pre-training run: its curves against steps and FLOPs, and its model', async () => {
    await go(page, `#/run/${encodeURIComponent(fx.pretrain)}`);
    // 6 steps, evaluations at 0, 3 and 6.
    await waitForPoints(page, 'loss-chart', { 'training loss': 6, 'validation loss': 3 });
    await waitForPoints(page, 'other-chart', { val_accuracy: 3 });
    await page.$$eval('section .controls select', (ss) => {
      const s = ss[0] as unknown as PageElement;
      s.value = 'flops';
      s.dispatchEvent(new Event('change'));
    });
    await waitForPoints(page, 'loss-chart', { 'training loss': 6, 'validation loss': 3 });
    await page.waitForSelector('#model table');
    assert.match(await page.$eval('#model', (el) => el.textContent ?? ''), /parameters.*embedding/s);
    assert.deepEqual(problems, []);
  });
});
