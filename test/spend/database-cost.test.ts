// Catalog models priced by the price database, through a real listening gateway and the official SDK: for each
// kind of request, the cost that @pydantic/genai-prices gives for the same usage, to the micro-dollar, in
// gateway_cost_usd_total, the log line's costUsd and /admin/usage.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { normaliseUsage } from '../../src/proxy/usage.js';
import { priceDatabase } from '../../src/spend/price-database.js';
import { costCheck } from '../helpers/cost-check.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { databaseUsd } from '../helpers/genai-prices.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const KEYS = ['plain', 'streamed', 'cached', 'reasoning', 'long-prompt', 'image', 'image-input', 'whisper', 'transcribe', 'pinned'];
const keyOf = (name: string): string => `gw-db-key-${name}`;

function config(upstreamUrl: string): GatewayConfigInput {
  return {
    ...testConfig(upstreamUrl),
    adminToken: ADMIN_TOKEN,
    clientKeys: KEYS.map((name) => ({ name, key: keyOf(name) })),
    // A price in config wins over the database's.
    models: [{ id: 'gpt-4.1', kind: 'chat', ownedBy: 'openai', pricing: { inputPerMillion: 1, cachedInputPerMillion: 0.1, outputPerMillion: 3 } }],
  };
}

describe('the cost of catalog models priced by the price database', () => {
  let upstream: UsageUpstream;
  let gateway: RunningGateway;
  const client = (name: string): OpenAI => gateway.client(keyOf(name));
  const { expectCost } = costCheck(() => gateway, ADMIN_TOKEN);
  /** The library's cost of the usage as the upstream reports it (in the words the gateway reads). */
  const expected = (usageJson: object, model: string): number => databaseUsd(normaliseUsage(usageJson)!, model, 'openai');

  beforeAll(async () => {
    upstream = await startUsageUpstream();
    gateway = await startGateway(config(upstream.url));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('prices a plain chat answer', async () => {
    upstream.chatUsage = { prompt_tokens: 1_234, completion_tokens: 567, total_tokens: 1_801 };
    await client('plain').chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] });
    const usd = expected(upstream.chatUsage, 'gpt-4.1-mini');
    expect(usd).toBe(0.001401); // 1,234 × $0.40/M + 567 × $1.60/M = 1,400.8 µ$
    await expectCost('plain', 'gpt-4.1-mini', usd);
  });

  it('prices a streamed chat answer', async () => {
    upstream.chatUsage = { prompt_tokens: 3_001, completion_tokens: 777, total_tokens: 3_778 };
    const stream = await client('streamed').chat.completions.create({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) expect(chunk.usage ?? undefined).toBeUndefined();
    await expectCost('streamed', 'gpt-5-mini', expected(upstream.chatUsage, 'gpt-5-mini'));
  });

  it('prices cached input at the cached rate', async () => {
    upstream.chatUsage = { prompt_tokens: 20_000, completion_tokens: 300, total_tokens: 20_300, prompt_tokens_details: { cached_tokens: 17_408 } };
    await client('cached').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await expectCost('cached', 'gpt-4o', expected(upstream.chatUsage, 'gpt-4o'));
  });

  it('prices a Responses answer with cached and reasoning tokens', async () => {
    upstream.responsesUsage = {
      input_tokens: 9_000,
      input_tokens_details: { cached_tokens: 4_096 },
      output_tokens: 2_500,
      output_tokens_details: { reasoning_tokens: 2_000 },
      total_tokens: 11_500,
    };
    await client('reasoning').responses.create({ model: 'gpt-5.1-codex', input: 'think' });
    await expectCost('reasoning', 'gpt-5.1-codex', expected(upstream.responsesUsage, 'gpt-5.1-codex'));
  });

  it("prices a prompt past the long-context tier at the tier's rates", async () => {
    upstream.chatUsage = { prompt_tokens: 300_000, completion_tokens: 1_000, total_tokens: 301_000, prompt_tokens_details: { cached_tokens: 100_000 } };
    await client('long-prompt').chat.completions.create({ model: 'gpt-5.4', messages: [{ role: 'user', content: 'hi' }] });
    const usd = expected(upstream.chatUsage, 'gpt-5.4');
    // 200,000 × $5/M + 100,000 × $0.50/M + 1,000 × $22.50/M: twice the base input rate.
    expect(usd).toBe(1.0725);
    await expectCost('long-prompt', 'gpt-5.4', usd);
  });

  it('prices an image by its tokens', async () => {
    upstream.imageUsage = { input_tokens: 40, output_tokens: 1_056, total_tokens: 1_096 };
    await client('image').images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse' });
    await expectCost('image', 'gpt-image-2', expected(upstream.imageUsage, 'gpt-image-2'));
  });

  it("prices an image answer's input image tokens at the image input rate", async () => {
    upstream.imageUsage = { input_tokens: 1_363, input_tokens_details: { text_tokens: 40, image_tokens: 1_323 }, output_tokens: 4_160, total_tokens: 5_523 };
    await client('image-input').images.generate({ model: 'gpt-image-2', prompt: 'the same lighthouse, at night' });
    const usd = expected(upstream.imageUsage, 'gpt-image-2');
    // 40 × $5/M + 1,323 × $8/M + 4,160 × $30/M
    expect(usd).toBe(0.135584);
    await expectCost('image-input', 'gpt-image-2', usd);
  });

  it('prices a whisper transcription by its duration', async () => {
    upstream.transcriptionUsage = { type: 'duration', seconds: 95 };
    await client('whisper').audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.from('RIFF'), 'a.wav') });
    const usd = expected(upstream.transcriptionUsage, 'whisper-1');
    expect(usd).toBe(0.0095); // 95 s at $0.006 a minute
    await expectCost('whisper', 'whisper-1', usd);
  });

  it('prices a transcription by its audio and text tokens', async () => {
    upstream.transcriptionUsage = { type: 'tokens', input_tokens: 1_520, input_token_details: { text_tokens: 20, audio_tokens: 1_500 }, output_tokens: 310, total_tokens: 1_830 };
    await client('transcribe').audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(Buffer.from('RIFF'), 'a.wav') });
    await expectCost('transcribe', 'gpt-4o-transcribe', expected(upstream.transcriptionUsage, 'gpt-4o-transcribe'));
  });

  it("charges a model priced in config at the config's price, not the database's", async () => {
    upstream.chatUsage = { prompt_tokens: 10_000, completion_tokens: 1_000, total_tokens: 11_000, prompt_tokens_details: { cached_tokens: 5_000 } };
    await client('pinned').chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    // 5,000 × $1/M + 5,000 × $0.10/M + 1,000 × $3/M; the database's $2 / $0.50 / $8 would make it $0.0205.
    expect(expected(upstream.chatUsage, 'gpt-4.1')).toBe(0.0205);
    await expectCost('pinned', 'gpt-4.1', 0.0085);
  });
});

describe('the start-up log of prices', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway(config('http://127.0.0.1:1/v1'));
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('names where each model’s price comes from, with the data date of the price database', () => {
    const lines = gateway.logs.lines.filter((l) => l.priceSources !== undefined);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.level).toBe(30);
    expect(line.priceDatabase).toEqual({ package: '@pydantic/genai-prices', version: priceDatabase.version, dataDate: priceDatabase.dataDate });
    expect(line.priceSources).toMatchObject({ 'gpt-4.1': 'config', 'gpt-4o': 'price-database', 'gpt-image-2': 'price-database', 'Doubao-pro-32k': 'none' });
    expect(line.msg).toBe(`model prices: 1 from config, 48 from the price database (@pydantic/genai-prices ${priceDatabase.version}, data of ${priceDatabase.dataDate}), 7 unpriced`);
  });

  it('warns only about the models no source prices', () => {
    const warnings = gateway.logs.lines.filter((l) => l.level === 40 && Array.isArray(l.models));
    expect(warnings).toHaveLength(1);
    const unpriced = ['Doubao-1.5-lite-32k', 'Doubao-1.5-pro-256k', 'Doubao-1.5-pro-32k', 'Doubao-pro-32k', 'chat-latest', 'tts-1', 'tts-1-hd'];
    expect([...(warnings[0]!.models as string[])].sort()).toEqual(unpriced.sort());
  });
});
