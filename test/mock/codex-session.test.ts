// The captured Codex CLI session replays against the mock: the account that issued the reasoning
// item accepts the second turn, another account refuses it as OpenAI does.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { codexCapture, type CapturedRequest } from '../helpers/codex-capture.js';

const capture = codexCapture;
const HOP_HEADERS = new Set(['host', 'content-length', 'authorization', 'accept-encoding']);

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream({ apiKeys: [capture.upstreamApiKey, 'sk-another-account'] });
});
afterAll(async () => {
  await mock.close();
});

async function replay(req: CapturedRequest, key: string): Promise<{ status: number; text: string }> {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_HEADERS.has(name)));
  const res = await request(`${mock.url.replace(/\/v1$/, '')}${req.path}`, {
    method: req.method as 'POST',
    headers: { ...headers, authorization: `Bearer ${key}` },
    body: JSON.stringify(req.body),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('captured Codex session', () => {
  it('holds two streamed /v1/responses turns, the second sending back the call output and sealed reasoning', () => {
    expect(capture.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/responses', 'POST /v1/responses']);
    for (const r of capture.requests) {
      expect(r.headers.authorization).toBe('Bearer <redacted>');
      expect(r.body).toMatchObject({ stream: true, store: false, include: ['reasoning.encrypted_content'] });
    }
    const second = JSON.stringify(capture.requests[1]?.body);
    expect(second).toContain('"type":"function_call_output"');
    expect(second).toContain('"encrypted_content":"gAAAA');
  });

  it('replays byte for byte against the issuing account, and fails with invalid_encrypted_content elsewhere', async () => {
    for (const req of capture.requests) {
      const res = await replay(req, capture.upstreamApiKey);
      expect(res.status).toBe(200);
      expect(res.text).toContain('event: response.completed');
    }
    expect(mock.requests.map((r) => r.rawBody)).toEqual(capture.requests.map((r) => JSON.stringify(r.body)));
    const refused = await replay(capture.requests[1] as CapturedRequest, 'sk-another-account');
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'invalid_encrypted_content' } });
  });
});
