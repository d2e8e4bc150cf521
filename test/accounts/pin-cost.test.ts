// Pins cost nothing until a request is served: a real gateway, a real Redis, the mock upstream and the
// official openai client.
import OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { conversationKey } from '../../src/accounts/sticky/store.js';
import { testConfig } from '../helpers/gateway.js';
import { useGatewayWithRedis } from '../helpers/gateway-with-redis.js';

const ACCOUNTS = [
  { name: 'acct-a', apiKey: 'sk-upstream-a-0123456789abcdef' },
  { name: 'acct-b', apiKey: 'sk-upstream-b-0123456789abcdef' },
];

describe('conversation pins in Redis', () => {
  const running = useGatewayWithRedis((urls) =>
    testConfig(urls.mock, {
      upstreams: [{ name: 'mock', baseUrl: urls.mock, models: ['*'], accounts: ACCOUNTS }],
      redis: { url: urls.redis, timeoutMs: 1_000 },
      sticky: { maxPinsPerKey: 5 },
      health: { cooldownMs: 1 },
    }),
  );

  const pinKeys = (): Promise<string[]> => running.gateway.app.services.redis!.run((c) => c.keys('gw:pin*'));
  const ask = (client: OpenAI, id: string) =>
    client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'X-Conversation-Id': id } });

  it('writes no pin for requests no upstream account served, whatever their conversation id', async () => {
    const client = running.gateway.client();
    running.mock.fault = () => ({ kind: 'status', status: 500 });
    for (let i = 0; i < 20; i++) await expect(ask(client, `reset-${i}`)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    running.mock.fault = () => ({ kind: 'status', status: 400, body: { error: { message: 'no', type: 'invalid_request_error', param: null, code: null } } });
    for (let i = 0; i < 20; i++) await expect(ask(client, `refused-${i}`)).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    running.mock.fault = undefined;
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'X-Conversation-Id': 'x' } })).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    // The served request's pin goes out on the one Redis connection after any write of the requests before it.
    const served = await ask(client, 'served').withResponse();
    const account = served.response.headers.get('x-gateway-account');
    const servedPin = `gw:pin:${conversationKey('mock', 'team-alpha', 'served')}`;
    await vi.waitFor(async () => expect(await running.gateway.app.services.redis!.run((c) => c.get(servedPin))).toBe(account));
    expect((await pinKeys()).filter((k) => k.startsWith('gw:pin:'))).toEqual([servedPin]);
  });

  it('keeps at most sticky.maxPinsPerKey pins per client key', async () => {
    const client = running.gateway.client();
    for (let i = 0; i < 12; i++) await ask(client, `many-${i}`);
    await vi.waitFor(async () => expect((await pinKeys()).filter((k) => k.startsWith('gw:pin:'))).toHaveLength(5));
    // The five most recent conversations are the ones kept.
    for (let i = 7; i < 12; i++) {
      expect(await running.gateway.app.services.redis!.run((c) => c.exists(`gw:pin:${conversationKey('mock', 'team-alpha', `many-${i}`)}`))).toBe(1);
    }
  });
});
