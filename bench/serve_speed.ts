// How fast the dashboard shows a big runs directory: 100 runs with 10k metrics lines each
// (docs/dashboard.md). Measures, in chromium, the time from opening the page to the list drawn
// with every run, and from choosing a run to its loss chart drawn with all its points; and the
// server's own time for the list and for one run's snapshot. A benchmark, not a test: it prints.
//
// Usage: node dist/bench/serve_speed.js [--runs 100] [--lines 10000] [--rounds 5]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { configToJson } from '../src/model/config';
import { RunsRoot } from '../src/serve/paths';
import { Dashboard } from '../src/serve/server';
import { listRuns } from '../src/serve/runs';
import { RunView } from '../src/serve/views';
import { presetConfig } from '../src/training/presets';
import { median } from '../src/util/stats';
import { launchChromium } from '../test/helpers/browser';

declare const document: { querySelectorAll(s: string): { length: number }; getElementById(id: string): { dataset: Record<string, string | undefined> } | null };
declare const location: { hash: string };

/** A pre-training run directory as `deepfusion pretrain` leaves it, with `lines` steps (an evaluation every 100). */
function makeRun(dir: string, lines: number, seed: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({
    init: { config: configToJson(presetConfig('s', 8192)), seed }, data: { corpus: 'default', input_length: 128, batch_size: 16 }, grad_accumulation: 1,
  }));
  const out: string[] = [];
  for (let step = 1; step <= lines; step++) {
    const loss = 2 + 7 * Math.exp(-step / 2000) + 0.05 * Math.sin(step * (seed + 1));
    out.push(JSON.stringify({ type: 'train', step, loss, lr: 0.01, grad_norm: 1.2, tokens: step * 2560, elapsed: step * 0.3, tokens_per_s: 8500 }));
    if (step % 100 === 0) out.push(JSON.stringify({ type: 'eval', step, val_loss: loss + 0.1, val_accuracy: 0.3, val_tokens: 4096, tokens: step * 2560, elapsed: step * 0.3 }));
  }
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), `${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, lines: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const lines = Number(values.lines);
  const rounds = Number(values.rounds);
  const root = path.join('/tmp', `deepfusion-bench-serve-${runs}x${lines}`);
  if (!fs.existsSync(path.join(root, 'done'))) {
    fs.rmSync(root, { recursive: true, force: true });
    for (let i = 0; i < runs; i++) makeRun(path.join(root, `run-${String(i).padStart(3, '0')}`), lines, i);
    fs.writeFileSync(path.join(root, 'done'), '');
  }
  const bytes = fs.readdirSync(root).filter((d) => d.startsWith('run-')).reduce((n, d) => n + fs.statSync(path.join(root, d, 'metrics.jsonl')).size, 0);
  console.log(`${runs} runs × ${lines} steps (+ ${lines / 100} evaluations each): ${(bytes / 2 ** 20).toFixed(0)} MB of metrics.jsonl in ${root}`);

  const dash = await Dashboard.start({ root, port: 0 });
  const rr = new RunsRoot(root);
  const serverList: number[] = [];
  const serverSnapshot: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    listRuns(rr);
    serverList.push(performance.now() - t);
    t = performance.now();
    new RunView(rr, path.join(rr.real, 'run-050')).snapshot();
    serverSnapshot.push(performance.now() - t);
  }

  const browser = await launchChromium();
  const listMs: number[] = [];
  const chartMs: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      let t = performance.now();
      await page.goto(dash.url);
      await page.waitForFunction((n) => document.querySelectorAll('#overview tbody tr').length === n, { polling: 'raf', timeout: 60_000 }, runs);
      listMs.push(performance.now() - t);
      t = performance.now();
      await page.evaluate(() => { location.hash = '#/run/run-050'; });
      await page.waitForFunction((n) => {
        const p = document.getElementById('loss-chart')?.dataset.points;
        return !!p && (JSON.parse(p) as Record<string, number>)['training loss'] === n && !!document.querySelectorAll('#loss-chart canvas').length;
      }, { polling: 'raf', timeout: 60_000 }, lines);
      chartMs.push(performance.now() - t);
      await page.close();
    }
  } finally {
    await browser.close();
    await dash.close();
  }
  const show = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log(`server: list of ${runs} runs            ${show(serverList)}`);
  console.log(`server: snapshot of one run's metrics ${show(serverSnapshot)}`);
  console.log(`browser: page opened → list drawn     ${show(listMs)}`);
  console.log(`browser: run chosen → chart of ${lines} points drawn ${show(chartMs)}`);
  console.log(JSON.stringify({ runs, lines, list_ms: median(listMs), chart_ms: median(chartMs), server_list_ms: median(serverList), server_snapshot_ms: median(serverSnapshot) }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
