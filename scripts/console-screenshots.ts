// Takes a screenshot of every console page into docs/console/, on a gateway with a PostgreSQL store, the mock
// upstream and a little traffic: `npx tsx scripts/console-screenshots.ts` (needs chromium and PostgreSQL, as
// `npm test` does).
import { join } from 'node:path';
import OpenAI from 'openai';
import { admin, ADMIN_TOKEN, ADMINS } from '../test/helpers/admin.js';
import { startBrowser } from '../test/helpers/browser.js';
import { CLIENT_KEY, ROOT, startGateway, testConfig } from '../test/helpers/gateway.js';
import { startMockUpstream } from '../test/helpers/mock-upstream.js';
import { startPostgres } from '../test/helpers/postgres.js';

const OUT = join(ROOT, 'docs', 'console');

const [pg, mock] = await Promise.all([startPostgres(), startMockUpstream()]);
const gateway = await startGateway(
  testConfig(mock.url, {
    admins: ADMINS,
    database: { url: pg.url },
    teams: [{ name: 'platform', models: ['gpt-4o', 'gpt-4o-mini'] }],
    clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, limits: { requestsPerMinute: 600, tokensPerDay: 2_000_000, usdPerDay: 25 } }],
  }),
);
const browser = await startBrowser();
try {
  const created = await admin<{ key: string }>(gateway.url, 'POST', '/admin/keys', { name: 'codex-alice', team: 'platform', limits: { usdPerDay: 10 } });
  await admin(gateway.url, 'POST', '/admin/keys', { name: 'ci-bot', models: ['gpt-4o-mini'] });
  for (const key of [CLIENT_KEY, created.body.key]) {
    const client = new OpenAI({ apiKey: key, baseURL: gateway.baseURL, maxRetries: 0 });
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] });
  }
  // The ledger is written in batches; closing writes it, so wait for one flush instead.
  await new Promise((resolve) => setTimeout(resolve, 6_000));

  const shoot = async (token: string, pages: string[]): Promise<void> => {
    const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${gateway.url}/admin/`);
    if (token === ADMIN_TOKEN) await page.screenshot({ path: join(OUT, 'sign-in.png') });
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    for (const name of pages) {
      if (name !== 'Your key') await page.getByRole('link', { name }).click();
      await page.getByRole('heading', { name, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(OUT, `${name.toLowerCase().replaceAll(' ', '-')}.png`), fullPage: true });
    }
    await context.close();
  };
  await shoot(ADMIN_TOKEN, ['Overview', 'Keys', 'Teams', 'Usage', 'Upstreams', 'Audit']);
  await shoot(CLIENT_KEY, ['Your key']);
} finally {
  await browser.close();
  await gateway.close();
  await mock.close();
  await pg.remove();
}
