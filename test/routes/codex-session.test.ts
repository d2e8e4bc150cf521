// A real Codex CLI session (captured once against the mock: test/fixtures/capture-codex-session.ts), replayed
// through the gateway with Codex's exact headers and bodies: every header Codex sends is accepted, its
// session headers go upstream, its zstd accept-encoding does not, and the second turn (which sends back the
// reasoning the first turn's account sealed) reaches that same account.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { codexCapture, type CapturedRequest } from '../helpers/codex-capture.js';

const capture = codexCapture;
/** Set by the HTTP client for each connection, not by Codex. */
const HOP_HEADERS = new Set(['host', 'content-length']);
const FORWARDED = ['session-id', 'thread-id', 'originator', 'x-client-request-id'];

describe('a captured Codex CLI session through the gateway', () => {
  let mock: MockUpstream;
  let single: RunningGateway;
  let pooled: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [capture.upstreamApiKey, 'sk-another-codex-account'] });
    single = await startGateway(
      testConfig(mock.url, { upstreams: [{ name: 'openai', baseUrl: mock.url, accounts: [{ name: 'acct-codex', apiKey: capture.upstreamApiKey }] }] }),
    );
    pooled = await startGateway(
      testConfig(mock.url, {
        upstreams: [
          {
            name: 'openai',
            baseUrl: mock.url,
            accounts: [
              { name: 'acct-codex', apiKey: capture.upstreamApiKey },
              { name: 'acct-other', apiKey: 'sk-another-codex-account' },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await single?.close();
    await pooled?.close();
    await mock?.close();
  });

  async function replay(gateway: RunningGateway, captured: CapturedRequest): Promise<{ status: number; text: string; account: string }> {
    const headers = Object.fromEntries(Object.entries(captured.headers).filter(([name]) => !HOP_HEADERS.has(name)));
    const res = await request(`${gateway.url}${captured.path}`, {
      method: captured.method as 'POST',
      headers: { ...headers, authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify(captured.body),
    });
    return { status: res.statusCode, text: await res.body.text(), account: String(res.headers['x-gateway-account']) };
  }

  it('serves both turns, relays their streams whole, and forwards the session headers but not zstd', async () => {
    mock.requests.length = 0;
    for (const captured of capture.requests) {
      const { status, text } = await replay(single, captured);
      expect(status, text.slice(0, 500)).toBe(200);
      expect(text).toContain('event: response.completed');
      expect(text).not.toContain('event: error');
    }
    expect(mock.requests).toHaveLength(capture.requests.length);
    mock.requests.forEach((received, i) => {
      const sent = capture.requests[i]!;
      expect(received.headers.authorization).toBe(`Bearer ${capture.upstreamApiKey}`);
      for (const name of FORWARDED) expect(received.headers[name], name).toBe(sent.headers[name]);
      expect(received.headers['accept-encoding'] ?? '').not.toContain('zstd');
      expect(received.rawBody).toBe(JSON.stringify(sent.body));
    });
  });

  it("keeps the session's two turns on one account of a pool", async () => {
    const first = await replay(pooled, capture.requests[0]!);
    const second = await replay(pooled, capture.requests[1]!);
    expect(second.account).toBe(first.account);
    // The sealed reasoning in the second turn is the capture account's: only it accepts the turn.
    expect(second.status).toBe(first.account === 'acct-codex' ? 200 : 400);
  });
});
