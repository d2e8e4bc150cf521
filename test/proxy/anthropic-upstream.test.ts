// An `api: anthropic` pool: failover before the first byte on 429, 529 and 5xx, a refused key benches its
// account, a model Anthropic does not know rests on that account alone; upstream headers that come back.
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicClient, anthropicConfig, ANTHROPIC_KEYS } from '../helpers/anthropic.js';
import { useGatewayWithMock } from '../helpers/gateway.js';
import type { RecordedRequest } from '../helpers/mock-upstream.js';

const running = useGatewayWithMock((url) => anthropicConfig(url), { apiKeys: [ANTHROPIC_KEYS.a, ANTHROPIC_KEYS.b] });

afterEach(() => {
  running.mock.fault = undefined;
  for (const account of running.gateway.app.services.router.pools[0]!.accounts) {
    account.coolingUntil = 0;
    account.modelCoolingUntil.clear();
  }
});

const MODEL = 'claude-haiku-4-5';
const ask = (model = MODEL): Promise<Anthropic.Message> =>
  anthropicClient(running.gateway).messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
const onAccountA = (req: RecordedRequest): boolean => req.headers['x-api-key'] === ANTHROPIC_KEYS.a;
const keysTried = (from: number): unknown[] => running.mock.requests.slice(from).map((r) => r.headers['x-api-key']);

describe('an Anthropic upstream pool', () => {
  it.each([429, 529, 500, 503])('moves to the next account on %i before the first byte, and rests the first', async (status) => {
    running.mock.fault = (req) => (onAccountA(req) ? { kind: 'status', status } : undefined);
    const from = running.mock.requests.length;
    // Both accounts are tried in turn until acct-a has been refused once.
    for (let i = 0; i < 2; i++) expect((await ask()).type).toBe('message');
    expect(keysTried(from)).toContain(ANTHROPIC_KEYS.a);
    const line = running.gateway.logs.lines.findLast((l) => Array.isArray(l.upstreamErrors));
    expect(line).toMatchObject({ status: 200, account: 'acct-b', upstreamErrors: [`acct-a:${status === 429 ? 'rate_limited' : 'server_error'}`] });
    const accountA = running.gateway.app.services.router.pools[0]!.account('acct-a')!;
    expect(accountA.coolingUntil).toBeGreaterThan(Date.now());
  });

  it('benches an account whose key Anthropic refuses (401 authentication_error)', async () => {
    running.mock.fault = (req) => (onAccountA(req) ? { kind: 'status', status: 401 } : undefined);
    for (let i = 0; i < 2; i++) await ask();
    const from = running.mock.requests.length;
    for (let i = 0; i < 3; i++) await ask();
    expect(keysTried(from)).toEqual([ANTHROPIC_KEYS.b, ANTHROPIC_KEYS.b, ANTHROPIC_KEYS.b]);
  });

  it('rests only the model on an account that answers 404 not_found_error for it', async () => {
    running.mock.fault = (req) =>
      onAccountA(req) && (req.body as { model?: string }).model === MODEL
        ? { kind: 'status', status: 404, body: { type: 'error', error: { type: 'not_found_error', message: `model: ${MODEL}` } } }
        : undefined;
    for (let i = 0; i < 2; i++) await ask();
    const accountA = running.gateway.app.services.router.pools[0]!.account('acct-a')!;
    expect(accountA.coolingUntil).toBe(0);
    expect(accountA.modelHealthy(Date.now(), MODEL)).toBe(false);
    const from = running.mock.requests.length;
    await ask('claude-sonnet-4-5');
    await ask('claude-sonnet-4-5');
    expect(keysTried(from).sort()).toEqual([ANTHROPIC_KEYS.a, ANTHROPIC_KEYS.b]);
  });

  it("passes a client's own error on as Anthropic sent it, without failover", async () => {
    const body = { type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content.0.text: text content blocks must be non-empty' } };
    running.mock.fault = () => ({ kind: 'status', status: 400, body });
    const from = running.mock.requests.length;
    const error = await ask().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual(body);
    expect(running.mock.requests.length - from).toBe(1);
  });

  it("passes Anthropic's request-id, rate-limit and retry-after headers back, and keeps the account's key out", async () => {
    const headers = { 'request-id': 'req_011CMock', 'anthropic-ratelimit-requests-remaining': '41', 'retry-after': '7', 'x-other': 'hidden' };
    running.mock.fault = () => ({ kind: 'status', status: 529, headers });
    const response = await fetch(`${running.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'gw-test-key-alpha', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(529);
    expect(response.headers.get('request-id')).toBe('req_011CMock');
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('41');
    expect(response.headers.get('retry-after')).toBe('7');
    expect(response.headers.get('x-other')).toBeNull();
    expect(await response.text()).not.toContain(ANTHROPIC_KEYS.a);
  });
});
