import { describe, expect, it } from 'vitest';
import { testConfig, useGatewayWithMock } from '../helpers/gateway.js';

describe('allowUnauthenticated: true with no client keys', () => {
  const running = useGatewayWithMock((url) => testConfig(url, { clientKeys: [], allowUnauthenticated: true }));

  it('serves requests that send no key, logged as the anonymous client', async () => {
    const response = await fetch(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(running.gateway.logs.lines.at(-1)).toMatchObject({ clientKey: 'anonymous', status: 200 });
  });

  it('serves requests that send any key, since there are none to check', async () => {
    const models = await running.gateway.client('whatever').models.list();
    expect(models.data.length).toBeGreaterThan(20);
  });
});
