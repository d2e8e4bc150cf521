// Anthropic's usage through a real listening gateway and the official Anthropic client: streamed and plain
// answers counted exactly (cache reads and writes included, one-hour writes apart), in the log line and
// gateway_tokens_total, and priced as @pydantic/genai-prices prices the same usage.
import type Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Usage } from '../../src/proxy/usage.js';
import { anthropicClient, anthropicConfig, ANTHROPIC_KEYS } from '../helpers/anthropic.js';
import { costCheck, eventually } from '../helpers/cost-check.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { databaseUsd } from '../helpers/genai-prices.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { find } from '../helpers/prometheus.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const KEYS = ['write-1h', 'read', 'write-5m', 'no-cache', 'left'];
const keyOf = (name: string): string => `gw-anthropic-key-${name}`;
const MODEL = 'claude-sonnet-4-5';
/** A system prompt of 2,000 words, cached: the mock counts one token per word. */
const SYSTEM_WORDS = 2_000;
const system = (ttl: '5m' | '1h'): Anthropic.TextBlockParam[] => [
  { type: 'text', text: 'word '.repeat(SYSTEM_WORDS).trim(), cache_control: { type: 'ephemeral', ttl } },
];
const hi: Anthropic.MessageParam[] = [{ role: 'user', content: 'hi' }];
/** "hi" and the message's own tokens, then "Echo: hi". */
const UNCACHED_INPUT = 4;
const OUTPUT = 2;

describe('the usage and cost of Anthropic messages', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  const { expectCost, scrape } = costCheck(() => gateway, ADMIN_TOKEN);
  const client = (name: string): Anthropic => anthropicClient(gateway, keyOf(name));
  const logLine = (name: string): Promise<Record<string, unknown>> =>
    eventually(() => gateway.logs.lines.find((l) => l.clientKey === name && l.tokens !== undefined), `${name}'s log line`);

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [ANTHROPIC_KEYS.a] });
    const config = anthropicConfig(mock.url, { adminToken: ADMIN_TOKEN, clientKeys: KEYS.map((name) => ({ name, key: keyOf(name) })) });
    config.upstreams![0]!.accounts = [{ name: 'acct-a', apiKey: ANTHROPIC_KEYS.a }];
    gateway = await startGateway(config);
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('counts a streamed answer that writes the cache for an hour, and prices the writes at the one-hour rate', async () => {
    const final = await client('write-1h').messages.stream({ model: MODEL, max_tokens: 100, system: system('1h'), messages: hi }).finalMessage();
    expect(final.usage).toMatchObject({ input_tokens: UNCACHED_INPUT, cache_creation_input_tokens: SYSTEM_WORDS, cache_read_input_tokens: 0, output_tokens: OUTPUT });
    const usage: Usage = { prompt: UNCACHED_INPUT + SYSTEM_WORDS, completion: OUTPUT, cached: 0, reasoning: 0, total: UNCACHED_INPUT + SYSTEM_WORDS + OUTPUT, cacheWrite: SYSTEM_WORDS, cacheWrite1h: SYSTEM_WORDS };
    expect((await logLine('write-1h')).tokens).toEqual({ prompt: 2_004, completion: 2, cached: 0, reasoning: 0, total: 2_006, cache_write: 2_000, cache_write_1h: 2_000 });
    const usd = databaseUsd(usage, MODEL, 'anthropic');
    expect(usd).toBe(0.012042); // 4 × $3/M + 2,000 × $6/M (one-hour writes) + 2 × $15/M
    await expectCost('write-1h', MODEL, usd);
    const tokens = find(await scrape(), 'gateway_tokens_total', { client_key: 'write-1h' });
    expect(Object.fromEntries(tokens.map((s) => [s.labels.type, s.value]))).toEqual({ prompt: 2_004, completion: 2, cached: 0, reasoning: 0, cache_write: 2_000 });
    expect(tokens.every((s) => s.labels.endpoint === '/v1/messages')).toBe(true);
  });

  it('counts a streamed answer that reads the cache, at the cache-read rate', async () => {
    await client('read').messages.stream({ model: MODEL, max_tokens: 100, system: system('1h'), messages: hi }).finalMessage();
    expect((await logLine('read')).tokens).toEqual({ prompt: 2_004, completion: 2, cached: 2_000, reasoning: 0, total: 2_006 });
    const usage: Usage = { prompt: 2_004, completion: 2, cached: 2_000, reasoning: 0, total: 2_006 };
    await expectCost('read', MODEL, databaseUsd(usage, MODEL, 'anthropic'));
  });

  it('counts a plain answer that writes the cache for five minutes', async () => {
    await client('write-5m').messages.create({ model: MODEL, max_tokens: 100, system: system('5m'), messages: [{ role: 'user', content: 'hello' }] });
    expect((await logLine('write-5m')).tokens).toEqual({ prompt: 2_004, completion: 2, cached: 0, reasoning: 0, total: 2_006, cache_write: 2_000 });
    const usage: Usage = { prompt: 2_004, completion: 2, cached: 0, reasoning: 0, total: 2_006, cacheWrite: 2_000 };
    const usd = databaseUsd(usage, MODEL, 'anthropic');
    expect(usd).toBe(0.007542); // 4 × $3/M + 2,000 × $3.75/M + 2 × $15/M
    await expectCost('write-5m', MODEL, usd);
  });

  it('counts a streamed answer without the cache, with no cache_write series', async () => {
    await client('no-cache').messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'one two three' }] }).finalMessage();
    expect((await logLine('no-cache')).tokens).toEqual({ prompt: 6, completion: 4, cached: 0, reasoning: 0, total: 10 });
    await expectCost('no-cache', MODEL, databaseUsd({ prompt: 6, completion: 4, cached: 0, reasoning: 0, total: 10 }, MODEL, 'anthropic'));
    expect(find(await scrape(), 'gateway_tokens_total', { client_key: 'no-cache', type: 'cache_write' })).toEqual([]);
  });

  it('charges a client that leaves mid-stream the input Anthropic reported and an estimate of the output delivered', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    mock.fault = () => ({ kind: 'hold-last-chunk', release: held });
    try {
      const stream = client('left').messages.stream({
        model: MODEL,
        max_tokens: 100,
        system: [{ type: 'text', text: 'other '.repeat(SYSTEM_WORDS).trim(), cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'tell me a long story' }],
      });
      for await (const event of stream) if (event.type === 'content_block_delta') break;
      const line = (await logLine('left')) as { status: number; usageEstimated: boolean; tokens: Record<string, number> };
      expect(line).toMatchObject({ status: 499, usageEstimated: true });
      // "tell me a long story" and the message's own tokens, as message_start said: exact, not estimated.
      expect(line.tokens).toMatchObject({ prompt: 2_008, cached: 0, cache_write: 2_000 });
      expect(line.tokens.completion).toBeGreaterThanOrEqual(1);
      expect(line.tokens.total).toBe(2_008 + line.tokens.completion!);
      const usage: Usage = { prompt: 2_008, completion: line.tokens.completion!, cached: 0, reasoning: 0, total: line.tokens.total!, cacheWrite: 2_000 };
      await expectCost('left', MODEL, databaseUsd(usage, MODEL, 'anthropic'), 499);
    } finally {
      release();
      mock.fault = undefined;
    }
  });
});
