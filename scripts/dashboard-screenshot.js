#!/usr/bin/env node
// A screenshot of the dashboard (docs/dashboard.png): opens a page of a running `deepfusion serve`
// in chromium (puppeteer-core, a dev dependency), waits until its charts have drawn, and saves a
// PNG of the top of the page.
//
// Usage: node scripts/dashboard-screenshot.js <url> <out.png> [width] [height]
//   e.g. node scripts/dashboard-screenshot.js 'http://127.0.0.1:8080/#/plan/demo' docs/dashboard.png 1200 1500
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, out, width = '1200', height = '1500'] = process.argv.slice(2);
  if (!url || !out) throw new Error('usage: node scripts/dashboard-screenshot.js <url> <out.png> [width] [height]');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deepfusion-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.DEEPFUSION_CHROMIUM ?? '/usr/bin/chromium', headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: Number(width), height: Number(height) });
    await page.goto(url, { waitUntil: 'load' });
    // Every chart on the page has drawn something, and the graph (if any) has loaded.
    await page.waitForFunction(() => {
      const charts = [...document.querySelectorAll('.chart')];
      const graph = document.querySelector('img.graph');
      return charts.length > 0 && charts.every((c) => c.querySelector('canvas')) && (!graph || (graph.complete && graph.naturalWidth > 0));
    }, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: out });
    console.log(`${out}: ${fs.statSync(out).size} bytes`);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
