// Config reload without a restart: SIGHUP on a real gateway process, and services.reload in process.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import type { GatewayConfigInput } from '../src/config/schema.js';
import { CLIENT_KEY, startGateway, startGatewayProcess, testConfig, type GatewayProcess } from './helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';

type AccountInput = { name: string; apiKey: string; weight: number };
const ACCOUNTS: AccountInput[] = [
  { name: 'acct-a', apiKey: 'sk-upstream-a-0123456789abcdef', weight: 2 },
  { name: 'acct-b', apiKey: 'sk-upstream-b-0123456789abcdef', weight: 1 },
  { name: 'acct-c', apiKey: 'sk-upstream-c-0123456789abcdef', weight: 1 },
];
const ACCOUNT_D: AccountInput = { name: 'acct-d', apiKey: 'sk-upstream-d-0123456789abcdef', weight: 2 };

function config(mockUrl: string, accounts: AccountInput[], extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return testConfig(mockUrl, { upstreams: [{ name: 'mock', baseUrl: mockUrl, models: ['*'], accounts }], ...extra });
}

async function ask(baseURL: string, conversationId?: string, content = 'hello', apiKey = CLIENT_KEY): Promise<string> {
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  const { response } = await client.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content }] }, conversationId === undefined ? {} : { headers: { 'X-Conversation-Id': conversationId } })
    .withResponse();
  return response.headers.get('x-gateway-account')!;
}

function tally(names: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

describe('config reload on SIGHUP', () => {
  let mock: MockUpstream;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGatewayProcess(config(mock.url, ACCOUNTS));
  });
  afterEach(() => {
    mock.fault = undefined;
  });
  afterAll(async () => {
    await gateway?.stop();
    await mock?.close();
  });

  it('moves pinned and un-pinned traffic off a removed account, applies new weights and accounts, and finishes the request in flight', async () => {
    const id = 'conv-reload';
    const removed = await ask(gateway.baseURL, id);
    expect(await ask(gateway.baseURL, id)).toBe(removed);

    // A request of that conversation is held at the upstream while the config changes under it.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    mock.fault = (req) =>
      (req.body as { messages?: { content?: string }[] } | undefined)?.messages?.[0]?.content === 'hold' ? { kind: 'hold-last-chunk', release: released } : undefined;
    const from = mock.requests.length;
    const inFlight = ask(gateway.baseURL, id, 'hold');
    await vi.waitFor(() => expect(mock.requests.slice(from).some((r) => r.rawBody.includes('"hold"'))).toBe(true));

    const [kept1, kept2] = ACCOUNTS.filter((a) => a.name !== removed);
    const next = [{ ...kept1!, weight: 3 }, { ...kept2!, weight: 1 }, ACCOUNT_D];
    gateway.writeConfig(config(mock.url, next));
    const mark = gateway.output.length;
    gateway.signal('SIGHUP');
    await gateway.waitForOutput(/"msg":"config reloaded"/, { from: mark });

    release();
    expect(await inFlight).toBe(removed);
    const removedKey = ACCOUNTS.find((a) => a.name === removed)!.apiKey;
    const removedHits = mock.hitsByKey.get(removedKey);

    // The conversation moved off the removed account, and stays where it went.
    const pinned = new Set<string>();
    for (let i = 0; i < 10; i++) pinned.add(await ask(gateway.baseURL, id));
    expect(pinned.size).toBe(1);
    expect(pinned.has(removed)).toBe(false);

    // Un-pinned traffic follows the new weights 3:1:2 exactly (smooth weighted round-robin, one process).
    const names: string[] = [];
    for (let i = 0; i < 60; i++) names.push(await ask(gateway.baseURL));
    expect(tally(names)).toEqual({ [kept1!.name]: 30, [kept2!.name]: 10, [ACCOUNT_D.name]: 20 });
    expect(mock.hitsByKey.get(removedKey)).toBe(removedHits);
    expect(gateway.child.exitCode).toBeNull();
  });

  it('keeps serving with the old config when the new one is invalid, and survives repeated SIGHUPs', async () => {
    const before = gateway.output.length;
    gateway.writeConfig({ ...config(mock.url, ACCOUNTS), upstreams: [] });
    gateway.signal('SIGHUP');
    const failed = await gateway.waitForOutput(/"msg":"config reload failed: still serving with the previous config"/, { from: before });
    expect(failed).toContain('upstreams');
    expect(await ask(gateway.baseURL)).toMatch(/^acct-/);

    gateway.writeConfig(config(mock.url, ACCOUNTS));
    // Three at once (the kernel may merge them into fewer): the process reloads and serves on.
    const mark = gateway.output.length;
    for (let i = 0; i < 3; i++) gateway.signal('SIGHUP');
    await gateway.waitForOutput(/"msg":"config reloaded"/, { from: mark });
    expect(gateway.output.slice(mark).join('\n')).not.toMatch(/config reload failed/);
    const health = await fetch(`${gateway.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await ask(gateway.baseURL)).toMatch(/^acct-[abc]$/);
    expect(gateway.child.exitCode).toBeNull();
  });
});

describe('services.reload', () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream();
  });
  afterAll(async () => {
    await mock.close();
  });

  it('keeps the cool-down of an account whose name and key are unchanged, and forgets it for a new key', async () => {
    const gateway = await startGateway(config(mock.url, ACCOUNTS));
    try {
      const until = Date.now() + 60_000;
      for (const account of gateway.app.services.router.pools[0]!.accounts) account.coolingUntil = until;
      const rekeyed = ACCOUNTS.map((a) => (a.name === 'acct-b' ? { ...a, apiKey: 'sk-upstream-b-new-0123456789' } : a));
      gateway.app.services.reload(parseConfig(config(mock.url, rekeyed)));
      const pool = gateway.app.services.router.pools[0]!;
      expect(pool.account('acct-a')!.coolingUntil).toBe(until);
      expect(pool.account('acct-c')!.coolingUntil).toBe(until);
      expect(pool.account('acct-b')!.coolingUntil).toBe(0);
      expect(await ask(gateway.baseURL)).toBe('acct-b');
    } finally {
      await gateway.close();
    }
  });

  it('applies client keys and models at once, and names the settings that need a restart', async () => {
    const gateway = await startGateway(config(mock.url, ACCOUNTS));
    try {
      const client = (key: string) => new OpenAI({ apiKey: key, baseURL: gateway.baseURL, maxRetries: 0 });
      expect((await client(CLIENT_KEY).models.list()).data.map((m) => m.id)).not.toContain('house-model');
      gateway.app.services.reload(
        parseConfig(
          config(mock.url, ACCOUNTS, {
            listen: { host: '127.0.0.1', port: 1234 },
            clientKeys: [{ name: 'team-new', key: 'gw-test-key-new' }],
            models: [{ id: 'house-model', kind: 'chat' }],
          }),
        ),
      );
      await expect(client(CLIENT_KEY).models.list()).rejects.toThrow(/Incorrect API key/);
      expect((await client('gw-test-key-new').models.list()).data.map((m) => m.id)).toContain('house-model');
      const warning = gateway.logs.lines.find((l) => l.msg === 'config reloaded, but these settings only change on a restart');
      expect(warning?.settings).toEqual(['listen']);
    } finally {
      await gateway.close();
    }
  });

  it('changes nothing when the new config cannot be built', async () => {
    const gateway = await startGateway(config(mock.url, ACCOUNTS));
    try {
      const router = gateway.app.services.router;
      expect(() => gateway.app.services.reload(parseConfig(config(mock.url, ACCOUNTS, { catalogFile: '/nonexistent/models.yaml' })))).toThrow(
        /cannot read model catalog/,
      );
      expect(gateway.app.services.router).toBe(router);
      expect(await ask(gateway.baseURL)).toMatch(/^acct-/);
    } finally {
      await gateway.close();
    }
  });
});
