// adminToken and metrics.bearerToken follow a config reload; an empty adminToken turns the admin endpoint off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import type { GatewayConfigInput } from '../src/config/schema.js';
import { startGateway, startGatewayProcess, testConfig } from './helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';
import { expectEnvelope } from './helpers/raw-http.js';

const ADMIN_A = 'admin-token-aaaaaaaaaaaa';
const ADMIN_B = 'admin-token-bbbbbbbbbbbb';
const SCRAPE_A = 'scrape-token-a';
const SCRAPE_B = 'scrape-token-b';

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, text: await response.text() };
}

/** Asserts the 404 an unknown URL gets. */
function expectUnknownUrl(answer: { status: number; text: string }): void {
  expect(answer.status).toBe(404);
  expect(expectEnvelope(answer.text).error.code).toBe('unknown_url');
}

describe('tokens on reload', () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream();
  });
  afterAll(async () => {
    await mock?.close();
  });

  const config = (extra: Partial<GatewayConfigInput>): GatewayConfigInput => testConfig(mock.url, extra);

  it('applies a new adminToken, a first one, and its removal (404 again)', async () => {
    const gateway = await startGateway(config({}));
    try {
      const usage = `${gateway.url}/admin/usage`;
      expectUnknownUrl(await get(usage, ADMIN_A));

      gateway.app.services.reload(parseConfig(config({ adminToken: ADMIN_A })));
      expect((await get(usage, ADMIN_A)).status).toBe(200);
      expect((await get(usage, ADMIN_B)).status).toBe(401);

      gateway.app.services.reload(parseConfig(config({ adminToken: ADMIN_B })));
      expect((await get(usage, ADMIN_B)).status).toBe(200);
      const refused = await get(usage, ADMIN_A);
      expect(refused.status).toBe(401);
      expect(expectEnvelope(refused.text).error.code).toBe('invalid_api_key');

      gateway.app.services.reload(parseConfig(config({})));
      expectUnknownUrl(await get(usage, ADMIN_B));
      // And none of these is a setting that waits for a restart.
      expect(gateway.logs.lines.filter((l) => l.msg === 'config reloaded, but these settings only change on a restart')).toHaveLength(0);
    } finally {
      await gateway.close();
    }
  });

  it('applies a new metrics.bearerToken, a first one, and its removal', async () => {
    const gateway = await startGateway(config({}));
    try {
      const metrics = `${gateway.url}/metrics`;
      expect((await get(metrics)).status).toBe(200);

      gateway.app.services.reload(parseConfig(config({ metrics: { bearerToken: SCRAPE_A } })));
      expect((await get(metrics)).status).toBe(401);
      expect((await get(metrics, SCRAPE_A)).status).toBe(200);

      gateway.app.services.reload(parseConfig(config({ metrics: { bearerToken: SCRAPE_B } })));
      expect((await get(metrics, SCRAPE_A)).status).toBe(401);
      const scraped = await get(metrics, SCRAPE_B);
      expect(scraped.status).toBe(200);
      expect(scraped.text).toContain('gateway_connection_rejections_total');

      gateway.app.services.reload(parseConfig(config({})));
      expect((await get(metrics)).status).toBe(200);
      expect(gateway.logs.lines.filter((l) => l.msg === 'config reloaded, but these settings only change on a restart')).toHaveLength(0);
    } finally {
      await gateway.close();
    }
  });

  it('names metrics.enabled and metrics.path among the settings that need a restart', async () => {
    const gateway = await startGateway(config({}));
    try {
      gateway.app.services.reload(parseConfig(config({ metrics: { enabled: false, path: '/stats' }, timeouts: { headersMs: 5_000 } })));
      const warning = gateway.logs.lines.find((l) => l.msg === 'config reloaded, but these settings only change on a restart');
      expect(warning?.settings).toEqual(['timeouts.headersMs', 'metrics.enabled', 'metrics.path']);
    } finally {
      await gateway.close();
    }
  });

  it.each([['${ADMIN_TOKEN:-}'], ['']])('an adminToken of %j with nothing to expand turns the endpoint off', async (adminToken) => {
    const gateway = await startGateway(config({ adminToken }), {});
    try {
      expectUnknownUrl(await get(`${gateway.url}/admin/usage`, ''));
    } finally {
      await gateway.close();
    }
  });
});

describe('a gateway process whose adminToken variable is unset', () => {
  it('starts with /admin/usage off (404), and a SIGHUP with a token turns it on', async () => {
    const mock = await startMockUpstream();
    const base = testConfig(mock.url);
    const gateway = await startGatewayProcess({ ...base, adminToken: '${ADMIN_TOKEN}' }, {});
    try {
      expectUnknownUrl(await get(`${gateway.url}/admin/usage`, ADMIN_A));

      const from = gateway.output.length;
      gateway.writeConfig({ ...base, adminToken: ADMIN_A });
      gateway.signal('SIGHUP');
      await gateway.waitForOutput(/"msg":"config reloaded"/, { from });
      expect((await get(`${gateway.url}/admin/usage`, ADMIN_A)).status).toBe(200);
      expect((await get(`${gateway.url}/admin/usage`, ADMIN_B)).status).toBe(401);
    } finally {
      await gateway.stop();
      await mock.close();
    }
  });
});
