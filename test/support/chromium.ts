// A headless Chromium (Debian's, never a downloaded one) and the app served over HTTP for it to visit.
import fs from 'node:fs';
import { type Browser as Chromium, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import type { AppConfig } from '../../src/config.js';
import { startTestApp, type TestApp } from './app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium-args.js';

export { CHROMIUM_PATH };

export const chromiumMissing: string | undefined = fs.existsSync(CHROMIUM_PATH)
  ? undefined
  : `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (or set CHROMIUM_PATH) to run the browser tests`;

export interface BrowserApp extends TestApp {
  /** http://127.0.0.1:PORT of the app, listening on a free loopback port. */
  readonly baseUrl: string;
  readonly chromium: Chromium;
  /** A new page in a fresh context (own cookies); JavaScript on unless `javaScriptEnabled: false`. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
}

/** The app on its own database, served over HTTP, and a headless Chromium to visit it. */
export async function startBrowserApp(config: Partial<AppConfig> = {}): Promise<BrowserApp> {
  const app = await startTestApp(config);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  return {
    ...app,
    baseUrl: `http://127.0.0.1:${app.port}`,
    chromium: browser,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
      return context.newPage();
    },
    async close() {
      await browser.close();
      await app.close();
    },
  };
}
