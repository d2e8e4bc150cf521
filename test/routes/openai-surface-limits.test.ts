// Per-key limits on embeddings, completions, moderations, audio and image edits, through the official
// openai client: a request limit refuses the second request of a minute on each endpoint, and the tokens
// an embeddings answer reports spend a token limit.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { MOCK_PNG_BASE64 } from '../../src/mock/upstream.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { setRedisClock } from '../support/redis-clock.js';

const ADMIN_TOKEN = 'admin-token-surface-0123456789';
const TPM_KEY = 'gw-key-surface-tokens-per-minute';
/** Six words: the mock counts six prompt tokens for each embeddings request of this input. */
const SIX_WORDS = 'one two three four five six';
/** 10:30 UTC: no request of this file runs across a minute's edge. */
const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

const audio = () => toFile(Buffer.alloc(20_000, 5), 'clip.mp3', { type: 'audio/mpeg' });
/** One request to each endpoint, each under its own key limited to one request a minute. */
const ONE_REQUEST_EACH: Record<string, (client: OpenAI) => Promise<unknown>> = {
  embeddings: (c) => c.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' }),
  completions: (c) => c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hi' }),
  moderations: (c) => c.moderations.create({ input: 'hi' }),
  transcriptions: async (c) => c.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe' }),
  translations: async (c) => c.audio.translations.create({ file: await audio(), model: 'whisper-1' }),
  speech: async (c) => (await c.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' })).arrayBuffer(),
  edits: async (c) => c.images.edit({ model: 'gpt-image-2', image: await toFile(Buffer.from(MOCK_PNG_BASE64, 'base64'), 'a.png'), prompt: 'blue' }),
};
const rpmKey = (endpoint: string): string => `gw-key-surface-rpm-${endpoint}`;

describe('per-key limits on the endpoints beyond chat', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    [redis, mock] = await Promise.all([startRedis(), startMockUpstream()]);
    gateway = await startGateway(
      testConfig(mock.url, {
        adminToken: ADMIN_TOKEN,
        redis: { url: redis.url, timeoutMs: 1_000 },
        clientKeys: [
          ...Object.keys(ONE_REQUEST_EACH).map((endpoint) => ({ name: `rpm-${endpoint}`, key: rpmKey(endpoint), limits: { requestsPerMinute: 1 } })),
          { name: 'tpm', key: TPM_KEY, limits: { tokensPerMinute: 10 } },
        ],
      }),
    );
    // The limit store connects in the background; /admin/usage answers 200 once its counts are readable.
    while ((await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await setRedisClock(gateway.app.services.redis!, [gateway.app.services.limiter.store as RedisLimitStore], MINUTE_START);
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await redis?.stop();
  });

  async function tokensThisMinute(name: string): Promise<number> {
    const response = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const rows = ((await response.json()) as { data: { name: string; tokensThisMinute: number }[] }).data;
    return rows.find((row) => row.name === name)!.tokensThisMinute;
  }

  /** A request's tokens are settled just after its response ends: waits until they are. */
  async function tokensSettled(name: string, tokens: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await tokensThisMinute(name)) === tokens) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the tokens of ${name} never reached ${tokens}`);
  }

  it("answers a key's second request of the minute with the SDK's RateLimitError, before anything goes upstream, on each endpoint", async () => {
    for (const [endpoint, send] of Object.entries(ONE_REQUEST_EACH)) {
      const client = gateway.client(rpmKey(endpoint));
      await send(client);
      const upstreamRequests = mock.requests.length;
      const error = await send(client).then(() => undefined, (err: unknown) => err);
      expect(error, endpoint).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error, endpoint).toMatchObject({ code: 'rate_limit_exceeded' });
      expect(mock.requests, endpoint).toHaveLength(upstreamRequests);
    }
  });

  it('spends tokensPerMinute with the prompt tokens embeddings report, then refuses', async () => {
    const client = gateway.client(TPM_KEY);
    // 0 and 6 tokens spent: each under 10, so each is admitted; then 12 are spent.
    for (const spent of [6, 12]) {
      const { response } = await client.embeddings.create({ model: 'text-embedding-3-small', input: SIX_WORDS }).withResponse();
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('10');
      await tokensSettled('tpm', spent);
    }
    const error = await client.embeddings.create({ model: 'text-embedding-3-small', input: SIX_WORDS }).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-ratelimit-remaining-tokens')).toBe('0');
  });
});
