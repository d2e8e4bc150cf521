// Which headers go upstream with a request, which come back, and the request ids that tie the three records together.
import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { UpstreamRouter } from '../../src/accounts/pool.js';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';
const AZURE_KEY = 'azure-api-key-5f0c1d2e3b4a';
const ORGANIZATION = 'org-gatewaytest0001';
const PROJECT = 'proj_gatewaytest0001';
const message = [{ role: 'user' as const, content: 'hello there' }];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('client headers and request ids', () => {
  const running = useGatewayWithMock(undefined);
  const upstreamHeaders = (): Record<string, unknown> => running.mock.requests.at(-1)!.headers;
  afterEach(() => {
    running.mock.fault = undefined;
    running.mock.requests.length = 0;
  });

  it("forwards Codex's and the Agents SDK's headers, and never the client's key, cookies or accept-encoding", async () => {
    const client = running.gateway.client(CLIENT_KEY, {
      defaultHeaders: {
        'OpenAI-Beta': 'responses=experimental',
        session_id: 'sess-underscore-1',
        'session-id': 'sess-dash-1',
        'thread-id': 'thread-1',
        originator: 'codex_cli_rs',
        'x-conversation-id': 'conv-headers-1',
        cookie: 'session=secret-cookie',
        'accept-encoding': 'zstd',
        'x-some-other-header': 'not forwarded',
      },
    });
    await client.chat.completions.create({ model: 'gpt-4o', messages: message });
    const sent = upstreamHeaders();
    expect(sent).toMatchObject({
      'openai-beta': 'responses=experimental',
      session_id: 'sess-underscore-1',
      'session-id': 'sess-dash-1',
      'thread-id': 'thread-1',
      originator: 'codex_cli_rs',
      'x-conversation-id': 'conv-headers-1',
      authorization: `Bearer ${UPSTREAM_KEY}`,
    });
    expect(sent.cookie).toBeUndefined();
    expect(sent['accept-encoding']).not.toBe('zstd');
    expect(sent['x-some-other-header']).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain(CLIENT_KEY);
  });

  it("takes the client's X-Request-Id: returned as X-Gateway-Request-Id, logged, sent upstream as X-Client-Request-Id", async () => {
    const client = running.gateway.client(CLIENT_KEY, { defaultHeaders: { 'x-request-id': 'client-req-0001' } });
    const { response, request_id } = await client.chat.completions.create({ model: 'gpt-4o', messages: message }).withResponse();
    expect(response.headers.get('x-gateway-request-id')).toBe('client-req-0001');
    expect(upstreamHeaders()['x-client-request-id']).toBe('client-req-0001');
    // The SDK's request id is the upstream's own, unchanged, so it names the provider's record.
    expect(request_id).toMatch(/^req_mock_\d+$/);
    const line = running.gateway.logs.lines.find((l) => l.requestId === 'client-req-0001');
    expect(line).toMatchObject({ status: 200, msg: 'POST /v1/chat/completions' });
  });

  it("forwards the client's own X-Client-Request-Id rather than the gateway's id", async () => {
    const client = running.gateway.client(CLIENT_KEY, { defaultHeaders: { 'x-client-request-id': 'codex-turn-42' } });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: message }).withResponse();
    expect(upstreamHeaders()['x-client-request-id']).toBe('codex-turn-42');
    expect(response.headers.get('x-gateway-request-id')).toMatch(UUID);
  });

  it('makes a request id when the client sends none, or one that is too long or holds other characters', async () => {
    for (const sent of [undefined, 'x'.repeat(129), 'has space', 'semi;colon', 'ünïcode']) {
      const headers: Record<string, string> = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' };
      if (sent !== undefined) headers['x-request-id'] = sent;
      const res = await request(`${running.gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'gpt-4o', messages: message }),
      });
      await res.body.text();
      const id = res.headers['x-gateway-request-id'];
      expect(id, `for ${String(sent)}`).toMatch(UUID);
      expect(upstreamHeaders()['x-client-request-id']).toBe(id);
      expect(running.gateway.logs.lines.some((l) => l.requestId === id)).toBe(true);
    }
    // The longest id taken as it is.
    const longest = `req_${'a'.repeat(124)}`;
    const res = await request(`${running.gateway.url}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-request-id': longest } });
    await res.body.text();
    expect(res.headers['x-gateway-request-id']).toBe(longest);
  });

  it("passes an upstream error's own x-request-id back unchanged", async () => {
    running.mock.fault = () => ({
      kind: 'status',
      status: 400,
      body: { error: { message: 'bad parameter', type: 'invalid_request_error', param: 'temperature', code: null } },
      headers: { 'x-request-id': 'req_upstream_error_1' },
    });
    const error = (await running.gateway
      .client(CLIENT_KEY, { defaultHeaders: { 'x-request-id': 'client-req-0002' } })
      .chat.completions.create({ model: 'gpt-4o', messages: message })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.requestID).toBe('req_upstream_error_1');
    expect(error.headers?.get('x-gateway-request-id')).toBe('client-req-0002');
  });
});

describe("an account's organization, project and headers", () => {
  const running = useGatewayWithMock((url) =>
    testConfig(url, {
      upstreams: [
        {
          name: 'mock',
          baseUrl: url,
          accounts: [
            { name: 'acct-a', apiKey: UPSTREAM_KEY, organization: ORGANIZATION, project: PROJECT, headers: { 'Api-Key': AZURE_KEY, 'x-region': 'eu' } },
          ],
        },
      ],
    }),
  );
  const upstreamHeaders = (): Record<string, unknown> => running.mock.requests.at(-1)!.headers;
  afterEach(() => {
    running.mock.fault = undefined;
    running.mock.requests.length = 0;
  });

  it("sends the account's organization, project and fixed headers, and none of them reaches the client, a log line or a metric", async () => {
    const { response } = await running.gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).withResponse();
    expect(upstreamHeaders()).toMatchObject({ 'openai-organization': ORGANIZATION, 'openai-project': PROJECT, 'api-key': AZURE_KEY, 'x-region': 'eu' });

    const returned = JSON.stringify([...response.headers.entries()]);
    const metrics = await (await request(`${running.gateway.url}/metrics`)).body.text();
    for (const value of [ORGANIZATION, PROJECT, AZURE_KEY]) {
      expect(returned).not.toContain(value);
      expect(running.gateway.logs.text.join('\n')).not.toContain(value);
      expect(metrics).not.toContain(value);
    }
  });

  it("masks the account's header values, organization and project where an upstream error quotes them", async () => {
    running.mock.fault = () => ({
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: `api-key ${AZURE_KEY} of ${ORGANIZATION}/${PROJECT} may not use this deployment`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      },
    });
    const error = (await running.gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error.status).toBe(400);
    expect(error.message).toContain('may not use this deployment');
    for (const value of [AZURE_KEY, ORGANIZATION, PROJECT]) expect(error.message).not.toContain(value);
  });
});

describe('accounts[].organization, .project and .headers in the config', () => {
  const config = (account: Record<string, unknown>): unknown => testConfig('http://127.0.0.1:1/v1', { upstreams: [{ name: 'u', baseUrl: 'http://127.0.0.1:1/v1', accounts: [{ name: 'a', apiKey: 'sk-x', ...account }] }] });

  it('refuses headers the gateway frames the request with, names that are not header names, and values with line breaks', () => {
    for (const headers of [{ host: 'evil.example' }, { 'Content-Length': '5' }, { 'Transfer-Encoding': 'chunked' }, { 'bad name': 'x' }, { 'x-a': 'one\r\nx-b: two' }]) {
      expect(configSchema.safeParse(config({ headers })).success, JSON.stringify(headers)).toBe(false);
    }
    expect(configSchema.safeParse(config({ organization: 'org\nx' })).success).toBe(false);
    expect(configSchema.safeParse(config({ organization: 'org-1', project: 'proj_1', headers: { 'api-key': 'k' } })).success).toBe(true);
  });

  it('counts header values, organization and project as secrets to mask, except values too short to be one', () => {
    const parsed = configSchema.parse(config({ organization: ORGANIZATION, project: PROJECT, headers: { 'api-key': AZURE_KEY, 'api-version': '1' } }));
    const secrets = new UpstreamRouter(parsed.upstreams).secrets();
    expect(secrets.sort()).toEqual([AZURE_KEY, ORGANIZATION, PROJECT, 'sk-x'].sort());
  });
});
