// Which part of a request carries its conversation: the X-Conversation-Id header, the body's
// prompt_cache_key, or an agent's session header, in the order `sticky.sources` gives.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const ACCOUNTS = ['a', 'b', 'c', 'd', 'e'].map((n) => ({ name: `acct-${n}`, apiKey: `sk-upstream-${n}-0123456789abcdef` }));

describe('conversation affinity sources', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let reordered: RunningGateway;

  const config = (extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput =>
    testConfig(mock.url, { upstreams: [{ name: 'mock', baseUrl: mock.url, models: ['*'], accounts: ACCOUNTS }], ...extra });

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(config());
    reordered = await startGateway(config({ sticky: { sources: ['session_id', 'x-conversation-id'] } }));
  });
  afterAll(async () => {
    await gateway.close();
    await reordered.close();
    await mock.close();
  });

  /** The account that served one chat request. */
  async function servedBy(target: RunningGateway, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: target.baseURL, maxRetries: 0, defaultHeaders: headers });
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...body })
      .withResponse();
    return response.headers.get('x-gateway-account')!;
  }

  async function accountsOver(times: number, send: () => Promise<string>): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < times; i++) seen.add(await send());
    return seen;
  }

  it('spreads requests that carry no conversation over the accounts', async () => {
    expect((await accountsOver(10, () => servedBy(gateway))).size).toBeGreaterThan(1);
  });

  it('keeps requests with one prompt_cache_key on one account', async () => {
    expect((await accountsOver(10, () => servedBy(gateway, { prompt_cache_key: 'cache-key-1' }))).size).toBe(1);
  });

  it('keeps requests with one session_id or session-id header on one account', async () => {
    expect((await accountsOver(10, () => servedBy(gateway, {}, { session_id: 'codex-session-1' }))).size).toBe(1);
    const dashed = await accountsOver(10, () => servedBy(gateway, {}, { 'session-id': 'codex-session-1' }));
    expect(dashed).toEqual(await accountsOver(1, () => servedBy(gateway, {}, { session_id: 'codex-session-1' })));
  });

  /** A conversation id of `prefix` whose account differs from `account`, so a precedence test can tell the two apart. */
  async function idOnAnotherAccount(prefix: string, account: string, send: (id: string) => Promise<string>): Promise<string> {
    for (let i = 0; ; i++) if ((await send(`${prefix}-${i}`)) !== account) return `${prefix}-${i}`;
  }

  it('takes X-Conversation-Id before prompt_cache_key, and prompt_cache_key before the session header', async () => {
    const byHeader = await servedBy(gateway, {}, { 'x-conversation-id': 'conv-1' });
    const key = await idOnAnotherAccount('cache', byHeader, (id) => servedBy(gateway, { prompt_cache_key: id }));
    const byKey = await servedBy(gateway, { prompt_cache_key: key });
    const session = await idOnAnotherAccount('session', byKey, (id) => servedBy(gateway, {}, { session_id: id }));
    for (let i = 0; i < 5; i++) {
      expect(await servedBy(gateway, { prompt_cache_key: key }, { 'x-conversation-id': 'conv-1' })).toBe(byHeader);
      expect(await servedBy(gateway, { prompt_cache_key: key }, { session_id: session })).toBe(byKey);
    }
  });

  it('follows the order sticky.sources gives, and ignores sources it leaves out', async () => {
    const bySession = await servedBy(reordered, {}, { session_id: 'sess-9' });
    const conversation = await idOnAnotherAccount('conv', bySession, (id) => servedBy(reordered, {}, { 'x-conversation-id': id }));
    for (let i = 0; i < 5; i++) {
      expect(await servedBy(reordered, {}, { session_id: 'sess-9', 'x-conversation-id': conversation })).toBe(bySession);
    }
    expect((await accountsOver(15, () => servedBy(reordered, { prompt_cache_key: 'cache-key-2' }))).size).toBeGreaterThan(1);
  });
});
