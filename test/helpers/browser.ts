// Headless Chromium (Debian's, installed by scripts/ensure-chromium.sh) driven through playwright-core, which
// brings no browser of its own. One browser per test file, with a fresh temporary profile; each test opens its
// own context (cookies apart).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface RunningBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts headless Chromium; fails loudly when it is missing (a console test never skips). */
export async function startBrowser(): Promise<RunningBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run \`bash scripts/ensure-chromium.sh\` (which \`npm test\` runs), or set CHROMIUM_PATH.`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox as root; no background connections on a machine without a network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** A fresh browser context (no cookies) on the console at `gatewayUrl`, signed in with `token`. */
export async function signInToConsole(browser: Browser, gatewayUrl: string, token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${gatewayUrl}/admin`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { context, page };
}
