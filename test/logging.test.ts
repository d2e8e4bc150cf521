import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from './helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';

describe('request logs', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(testConfig(mock.url));
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('writes one JSON line per request with id, key name, model, account, status, duration and tokens', async () => {
    const before = gateway.logs.lines.length;
    await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me' }] });
    const lines = gateway.logs.lines.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      reqId: expect.any(String),
      clientKey: 'team-alpha',
      model: 'gpt-4o',
      account: 'acct-a',
      status: 200,
      durationMs: expect.any(Number),
      tokens: { prompt: 5, completion: 3, cached: 0, total: 8 },
    });
  });

  it('logs refused requests with "none" for what is not known, and never a key', async () => {
    const before = gateway.logs.lines.length;
    await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer not-a-real-key', 'content-type': 'application/json' }, body: '{}' });
    const lines = gateway.logs.lines.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ clientKey: 'none', model: 'none', account: 'none', status: 401 });
    const all = gateway.logs.text.join('');
    expect(all).not.toContain(CLIENT_KEY);
    expect(all).not.toContain(UPSTREAM_KEY);
    expect(all).not.toContain('not-a-real-key');
  });
});
