// The console in a real browser (headless Chromium): signing in as an admin and as a key holder, what each
// sees, that a value from the API is shown as text and runs nothing, and that no token stays in the page.
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInToConsole, startBrowser, type RunningBrowser } from '../helpers/browser.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const ADMIN_TOKEN = 'console-admin-token-0123456789';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';

let mock: MockUpstream;
let gateway: RunningGateway;
let browser: RunningBrowser;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway(
    testConfig(mock.url, {
      adminToken: ADMIN_TOKEN,
      clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, models: ['gpt-4o-mini'], limits: { requestsPerMinute: 60, usdPerDay: 5 } }],
    }),
  );
  browser = await startBrowser();
});
afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await mock?.close();
});

const signedIn = (token: string) => signInToConsole(browser.browser, gateway.url, token);

describe('the console in a browser', () => {
  it('shows an error on the page for a wrong token, and stays on the sign-in page', async () => {
    const { context, page } = await signedIn('not-a-token');
    await page.getByRole('alert').filter({ hasText: 'not an admin credential' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    await context.close();
  });

  it('signs an admin in: navigation, the Upstreams page, and no token kept in the page', async () => {
    const { context, page } = await signedIn(ADMIN_TOKEN);
    for (const link of ['Overview', 'Keys', 'Teams', 'Usage', 'Upstreams', 'Audit']) {
      await page.getByRole('link', { name: link }).waitFor();
    }
    await page.getByRole('link', { name: 'Upstreams' }).click();
    await page.getByRole('heading', { name: 'Upstreams' }).waitFor();
    await page.getByRole('cell', { name: 'acct-a' }).waitFor();
    expect(await page.getByRole('cell', { name: 'available' }).count()).toBe(1);

    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    // Runs in the page: its globals are the browser's, typed here by what the check reads.
    const stored = await page.evaluate(() => {
      const page = globalThis as unknown as { localStorage: { length: number }; sessionStorage: { length: number }; document: { cookie: string } };
      return [page.localStorage.length, page.sessionStorage.length, page.document.cookie];
    });
    expect(stored).toEqual([0, 0, '']);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.content()).not.toContain(ADMIN_TOKEN);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await context.cookies()).toHaveLength(0);
    await context.close();
  });

  it('shows a key holder only "Your key": their limits and what is left, no admin page', async () => {
    const { context, page } = await signedIn(CLIENT_KEY);
    await page.getByRole('heading', { name: 'Your key' }).waitFor();
    const details = page.locator('dl');
    await details.getByText('team-alpha').waitFor();
    expect(await details.textContent()).toContain('gpt-4o-mini');
    expect(await details.textContent()).toContain('60 req/min');
    expect(await details.textContent()).toContain('$5.00');
    expect(await page.getByRole('link', { name: 'Keys' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    // Its session reaches no admin route, whatever the page asks for.
    const status = await page.evaluate(async () => (await fetch('/admin/usage')).status);
    expect(status).toBe(403);
    await context.close();
  });

  it('shows a name from the API as text: markup in it appears literally and runs nothing', async () => {
    const { context, page } = await signedIn(ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Upstreams' }).waitFor();
    await page.route('**/admin/upstreams', (route: Route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ object: 'list', data: [{ pool: XSS_NAME, account: XSS_NAME, available: false, reason: XSS_NAME, coolingUntil: null, recent: { requests: 1, errors: 1 } }] }),
      }),
    );
    await page.route('**/admin/keys?*', (route: Route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ object: 'list', has_more: false, next_cursor: null, data: [{ id: 'key_1', name: XSS_NAME, team: XSS_NAME, models: [XSS_NAME], limits: null, keyHint: 'abcd', status: 'active', source: 'api', revokedAt: null }] }),
      }),
    );
    await page.getByRole('link', { name: 'Upstreams' }).click();
    await page.getByRole('cell', { name: XSS_NAME, exact: true }).first().waitFor();
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('row').filter({ hasText: '…abcd' }).getByRole('cell', { name: XSS_NAME, exact: true }).first().waitFor();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
  });
});
