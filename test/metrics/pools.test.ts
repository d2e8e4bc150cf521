// gateway_upstream_accounts_available: what the "every account of a pool is cooling down" alert reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';

describe('gateway_upstream_accounts_available', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(
      testConfig(mock.url, {
        health: { cooldownMs: 60_000 },
        upstreams: [
          {
            name: 'openai',
            baseUrl: mock.url,
            accounts: [
              { name: 'acct-a', apiKey: 'sk-pool-a-0123456789' },
              { name: 'acct-b', apiKey: 'sk-pool-b-0123456789' },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  const available = async (): Promise<number | undefined> =>
    value(parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text()), 'gateway_upstream_accounts_available', { pool: 'openai' });

  it('counts the accounts of each pool that are not cooling down, down to 0', async () => {
    expect(await available()).toBe(2);
    mock.fault = (req) => (req.headers.authorization === 'Bearer sk-pool-a-0123456789' ? { kind: 'status', status: 503 } : undefined);
    await gateway.client(CLIENT_KEY).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await gateway.client(CLIENT_KEY).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(await available()).toBe(1);
    mock.fault = () => ({ kind: 'status', status: 503 });
    await expect(gateway.client(CLIENT_KEY).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 503,
    });
    expect(await available()).toBe(0);
  });
});
