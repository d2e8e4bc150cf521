import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, useGatewayWithMock } from './helpers/gateway.js';

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';

describe('request logs', () => {
  const running = useGatewayWithMock();

  it('writes one JSON line per request with id, key name, model, account, status, duration and tokens', async () => {
    const before = running.gateway.logs.lines.length;
    await running.gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me' }] });
    const lines = running.gateway.logs.lines.slice(before);
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
    const before = running.gateway.logs.lines.length;
    await fetch(`${running.gateway.baseURL}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer not-a-real-key', 'content-type': 'application/json' }, body: '{}' });
    const lines = running.gateway.logs.lines.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ clientKey: 'none', model: 'none', account: 'none', status: 401 });
    const all = running.gateway.logs.text.join('');
    expect(all).not.toContain(CLIENT_KEY);
    expect(all).not.toContain(UPSTREAM_KEY);
    expect(all).not.toContain('not-a-real-key');
  });

  it('follows a reloaded logLevel: no request lines at warn, again at info', async () => {
    const { app, logs } = running.gateway;
    const post = () => running.gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me' }] });
    const requestLines = (from: number) => logs.lines.slice(from).filter((l) => l.msg === 'POST /v1/chat/completions');
    try {
      app.services.reload({ ...app.services.config, logLevel: 'warn' });
      const before = logs.lines.length;
      await post();
      expect(requestLines(before)).toHaveLength(0);
    } finally {
      app.services.reload({ ...app.services.config, logLevel: 'info' });
    }
    const before = logs.lines.length;
    await post();
    expect(requestLines(before)).toHaveLength(1);
  });
});
