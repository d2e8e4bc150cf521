// The console's key management in a real browser, on a gateway with a PostgreSQL store: an admin creates a key
// through the dialog, the secret shown once works with the openai SDK, revoking it through the table turns the
// SDK's answer into 401; a viewer sees the same pages without the buttons that change anything.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, ADMIN_TOKEN, VIEWER_TOKEN } from '../helpers/admin.js';
import { signInToConsole, startBrowser, type RunningBrowser } from '../helpers/browser.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';

const running = useGatewayWithPostgres({ teams: [{ name: 'platform' }] });
let browser: RunningBrowser;

beforeAll(async () => {
  browser = await startBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function signedIn(token: string): ReturnType<typeof signInToConsole> {
  const signed = await signInToConsole(browser.browser, running.gateway.url, token);
  await signed.page.getByRole('link', { name: 'Keys' }).waitFor();
  return signed;
}

const chat = (apiKey: string) =>
  new OpenAI({ apiKey, baseURL: running.gateway.baseURL, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('keys in the console', () => {
  it('creates a key through the dialog, whose secret works with the SDK, and revokes it through the table', async () => {
    const { context, page } = await signedIn(ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create key' });
    await dialog.getByLabel('Name').fill('console-made');
    await dialog.getByLabel('Team').fill('platform');
    await dialog.getByLabel('Allowed models').fill('gpt-4o-mini, gpt-4o');
    await dialog.getByLabel('Requests per minute').fill('100');
    await dialog.getByLabel('Tokens per minute').fill('50000');
    await dialog.getByLabel('USD per day').fill('5');
    await dialog.getByLabel('USD per month').fill('80');
    await dialog.getByLabel('Expires').fill('2031-01-02T03:04');
    await dialog.getByRole('button', { name: 'Create' }).click();

    const secretField = page.getByLabel('New key');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^aigw-/);
    expect(await secretField.getAttribute('readonly')).not.toBeNull();
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    const completion = await chat(secret);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const stored = await admin<{ data: { name: string; team: string; models: string[]; limits: Record<string, number>; expiresAt: string }[] }>(
      running.gateway.url,
      'GET',
      '/admin/keys?team=platform',
    );
    const made = stored.body.data.find((k) => k.name === 'console-made')!;
    expect(made).toMatchObject({ team: 'platform', models: ['gpt-4o-mini', 'gpt-4o'], limits: { requestsPerMinute: 100, tokensPerMinute: 50_000, usdPerDay: 5, usdPerMonth: 80 } });
    expect(made.expiresAt.startsWith('2031-01-0')).toBe(true);
    await page.getByRole('button', { name: 'Done' }).click();

    // The secret was shown once: the table has its hint, never the secret.
    const row = page.getByRole('row').filter({ hasText: 'console-made' });
    await row.waitFor();
    expect(await row.textContent()).toContain(secret.slice(-4));
    expect(await page.content()).not.toContain(secret);

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('row').filter({ hasText: 'console-made' }).filter({ hasText: 'revoked' }).waitFor();
    const refused = await chat(secret).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    await context.close();
  });

  it('rotates a key through the table: the new secret shown once works with the SDK, the old one gets 401', async () => {
    const created = await admin<{ key: string }>(running.gateway.url, 'POST', '/admin/keys', { name: 'to-rotate' });
    const oldSecret = created.body.key;
    expect((await chat(oldSecret)).choices[0]?.message.content).toBeTruthy();
    const { context, page } = await signedIn(ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('row').filter({ hasText: 'to-rotate' }).getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog', { name: 'Rotate key to-rotate?' }).getByRole('button', { name: 'Confirm' }).click();

    const secretField = page.getByLabel('New key');
    await secretField.waitFor();
    const newSecret = await secretField.inputValue();
    expect(newSecret).toMatch(/^aigw-/);
    expect(newSecret).not.toBe(oldSecret);
    expect(await secretField.getAttribute('readonly')).not.toBeNull();
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await page.getByRole('button', { name: 'Done' }).click();

    // The table shows the new secret's hint, and the page no longer holds the secret.
    await page.getByRole('row').filter({ hasText: 'to-rotate' }).filter({ hasText: `…${newSecret.slice(-4)}` }).waitFor();
    expect(await page.content()).not.toContain(newSecret);
    const refused = await chat(oldSecret).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    const { data: completion, response } = await chat(newSecret).withResponse();
    expect(response.status).toBe(200);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    await context.close();
  });

  it('shows a viewer the same pages, without Create key, Rotate, Revoke, Create team or Delete', async () => {
    const { context, page } = await signedIn(VIEWER_TOKEN);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.getByRole('cell', { name: 'team-alpha' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Teams' }).click();
    await page.getByRole('cell', { name: 'platform', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Create team' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    // Nor can its session write through the API behind the page.
    const status = await page.evaluate(async () =>
      (await fetch('/admin/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sneaky' }) })).status,
    );
    expect(status).toBe(403);
    await context.close();
  });

  it("shows a key holder their own usage per day, from the ledger", async () => {
    const created = await admin<{ key: string }>(running.gateway.url, 'POST', '/admin/keys', { name: 'chart-holder' });
    await chat(created.body.key);
    const { context, page } = await signInToConsole(browser.browser, running.gateway.url, created.body.key);
    await page.getByRole('heading', { name: 'Your key' }).waitFor();
    const own = await page.evaluate(async () => (await (await fetch('/admin/session/key')).json()) as { daily: { key: string; requests: number }[] });
    expect(own.daily).toEqual([expect.objectContaining({ key: 'chart-holder', requests: 1 })]);
    await page.getByRole('img', { name: 'Usage per day' }).waitFor();
    await context.close();
  });

  it('shows an admin the usage per day by key, team or model, with its CSV to download', async () => {
    const created = await admin<{ key: string }>(running.gateway.url, 'POST', '/admin/keys', { name: 'usage-shown', team: 'platform' });
    await chat(created.body.key);
    // A key whose ledger rows hold prompt-cache writes (an Anthropic client's), written as the gateway's flushes write them.
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
    const cached = { key: 'cache-writer', model: 'claude-sonnet-4-5', team: '', requests: 2, cachedTokens: 0, completionTokens: 40, reasoningTokens: 0, costMicros: 1 };
    await running.gateway.app.services.store.use(async (r) => {
      await r.usage.apply('cache-writer-1', [{ ...cached, day: day(1), promptTokens: 20_000, cacheWriteTokens: 12_000 }]);
      await r.usage.apply('cache-writer-2', [{ ...cached, day: day(0), promptTokens: 500, cacheWriteTokens: 345 }]);
    });
    const { context, page } = await signedIn(ADMIN_TOKEN);
    // The Overview's top keys and models, summed by the server.
    const topKey = page.getByRole('table').first().getByRole('row').filter({ hasText: 'usage-shown' });
    await topKey.waitFor();
    expect(await topKey.textContent()).toMatch(/\$\d/);
    await page.getByRole('table').nth(1).getByRole('cell', { name: 'gpt-4o-mini' }).waitFor();
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('img', { name: 'Usage per day' }).waitFor();
    await page.getByRole('cell', { name: 'usage-shown' }).waitFor();
    // Each group's sums, prompt-cache writes in their own column.
    const headers = await page.getByRole('columnheader').allTextContents();
    expect(headers).toEqual(['key', 'Requests', 'Prompt tokens', 'Cache writes', 'Completion tokens', 'Spend']);
    const cacheWriter = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'cache-writer', exact: true }) });
    expect(await cacheWriter.getByRole('cell').nth(headers.indexOf('Cache writes')).textContent()).toBe('12,345');
    await page.getByLabel('Group by').selectOption('team');
    await page.getByRole('cell', { name: 'platform', exact: true }).waitFor();
    const link = page.getByRole('link', { name: 'Download CSV' });
    const href = (await link.getAttribute('href'))!;
    expect(href).toContain('groupBy=team');
    const csv = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { type: response.headers.get('content-type'), text: await response.text() };
    }, href);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('date,team,requests,promptTokens,cachedTokens,cacheWriteTokens,completionTokens,reasoningTokens,costUsd');
    expect(csv.text).toContain(',platform,');
    await context.close();
  });
});
