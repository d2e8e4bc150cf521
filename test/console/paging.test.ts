// The console's Keys, Teams and Audit tables in a real browser, one page at a time: Next and Previous walk the
// admin API's cursors, the total is shown, and the page asks for no more than the rows it shows (its keys'
// usage and budgets included).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, ADMIN_TOKEN } from '../helpers/admin.js';
import { signInToConsole, startBrowser, type RunningBrowser } from '../helpers/browser.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';

const KEYS = 120;
const running = useGatewayWithPostgres({ teams: [{ name: 'config-team', limits: { usdPerDay: 7 } }] });
let browser: RunningBrowser;
const name = (i: number): string => `key-${String(i).padStart(3, '0')}`;

beforeAll(async () => {
  const { services } = running.gateway.app;
  // Written straight to the store, one transaction each (with its audit entry), as the admin API does.
  await services.store.use(async (repos) => {
    for (let i = 0; i < KEYS; i++) {
      const fields = { name: name(i), team: i < 3 ? 'config-team' : null, models: null, limits: i === 50 ? { usdPerDay: 4 } : null, expiresAt: null, metadata: null };
      await repos.keys.create(`key_seed${String(i).padStart(3, '0')}`, fields, { sha256: i.toString(16).padStart(64, '0'), hint: String(i).padStart(4, '0') }, 'ops', new Set(['config-team']));
    }
  });
  await services.keys.sync(true);
  browser = await startBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** The names in the first column of the table's body. */
const names = (page: Page): Promise<string[]> => page.locator('tbody tr td:first-child').allTextContents();

describe('paged tables in the console', () => {
  it('shows the keys newest first, 50 at a time with Next and Previous, and asks usage for the shown keys only', async () => {
    const { context, page } = await signInToConsole(browser.browser, running.gateway.url, ADMIN_TOKEN);
    const asked: URL[] = [];
    page.on('request', (request) => asked.push(new URL(request.url())));
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByText(`Rows 1–50 of ${KEYS + 1}`).waitFor();
    const first = await names(page);
    expect(first).toEqual(Array.from({ length: 50 }, (_, i) => name(KEYS - 1 - i)));
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(`Rows 51–100 of ${KEYS + 1}`).waitFor();
    const second = await names(page);
    expect(second).toEqual(Array.from({ length: 50 }, (_, i) => name(KEYS - 51 - i)));
    // The budget left today of a key of this page, from its own usage.
    expect(await page.getByRole('row').filter({ hasText: name(50) }).textContent()).toContain('$4.00');

    // A key made meanwhile goes before the walk's start: the next page has no key twice and none missing.
    expect((await admin(running.gateway.url, 'POST', '/admin/keys', { name: 'made-meanwhile' })).status).toBe(201);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(`Rows 101–`).waitFor();
    expect(await names(page)).toEqual([...Array.from({ length: 20 }, (_, i) => name(19 - i)), 'team-alpha']);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Rows 51–100').waitFor();
    expect(await names(page)).toEqual(second);

    const keyLists = asked.filter((u) => u.pathname === '/admin/keys');
    expect(keyLists.length).toBe(4);
    expect(keyLists.every((u) => u.searchParams.get('limit') === '50' && u.searchParams.get('order') === 'newest')).toBe(true);
    const usage = asked.filter((u) => u.pathname === '/admin/usage');
    expect(usage.length).toBe(4);
    for (const u of usage) expect(u.searchParams.get('keys')!.split(',').length).toBeLessThanOrEqual(50);
    await context.close();
  });

  it('puts a key created in the console on the first page, and finds one key among all with Search', async () => {
    const { context, page } = await signInToConsole(browser.browser, running.gateway.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByText('Rows 1–50 of').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create key' });
    await dialog.getByLabel('Name').fill('just-made');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const secret = await page.getByLabel('New key').inputValue();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('tbody tr').first().filter({ hasText: 'just-made' }).waitFor();
    expect((await names(page))[0]).toBe('just-made');

    // By a part of its name: the one key, whatever page it was on.
    const search = page.getByRole('searchbox', { name: 'Search' });
    await search.fill('Y-03');
    await page.getByText('Rows 1–10 of 10').waitFor();
    expect(await names(page)).toEqual(Array.from({ length: 10 }, (_, i) => name(39 - i)));
    await search.fill('key-007');
    await search.press('Enter');
    await page.getByText('Rows 1–1 of 1').waitFor();
    expect(await names(page)).toEqual([name(7)]);
    // By the hint of its secret; the box kept its text while the table changed.
    await search.fill(secret.slice(-4));
    await search.press('Enter');
    await page.locator('tbody tr').filter({ hasText: 'just-made' }).waitFor();
    expect(await search.inputValue()).toBe(secret.slice(-4));
    await search.fill('nothing-like-this');
    await page.getByText('No rows').waitFor();

    await page.getByRole('link', { name: 'Teams' }).click();
    await page.getByRole('searchbox', { name: 'Search' }).fill('CONFIG');
    await page.getByText('Rows 1–1 of 1').waitFor();
    expect(await names(page)).toEqual(['config-team']);
    await context.close();
  });

  it('pages the audit, and shows teams with their members and budget left', async () => {
    const { context, page } = await signInToConsole(browser.browser, running.gateway.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByText('Rows 1–50').waitFor();
    const newest = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Rows 51–100').waitFor();
    const older = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(older).toHaveLength(50);
    expect(older.some((target) => newest.includes(target))).toBe(false);

    await page.getByRole('link', { name: 'Teams' }).click();
    const row = page.getByRole('row').filter({ hasText: 'config-team' });
    await row.waitFor();
    expect(await row.textContent()).toContain(`3 keys: ${name(0)}, ${name(1)}, ${name(2)}`);
    expect(await row.textContent()).toContain('$7.00');
    await row.getByRole('link', { name: '3 keys' }).click();
    await page.getByRole('heading', { name: 'Keys of team config-team' }).waitFor();
    await page.getByText('Rows 1–3 of 3').waitFor();
    await context.close();
  });
});
