// Debian's chromium, driven by puppeteer-core, for the dashboard's browser tests and benchmarks.
import * as fs from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { temporaryDir } from './tmp';

export const CHROMIUM = process.env.DEEPFUSION_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser cannot run here, or undefined if it can. */
export const CHROMIUM_MISSING = fs.existsSync(CHROMIUM) ? undefined
  : `chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set DEEPFUSION_CHROMIUM`;

/** Headless, as root, with a fresh profile and no network connections of its own. */
export function launchChromium(): Promise<Browser> {
  const profile = temporaryDir('deepfusion-chromium-');
  return puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  }).then((browser) => {
    // The profile goes with the browser (chromium may still be writing to it as it exits: best effort).
    browser.once('disconnected', () => {
      try {
        fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
      } catch { /* left in the temporary directory */ }
    });
    return browser;
  });
}
