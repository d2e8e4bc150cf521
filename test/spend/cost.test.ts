// The cost of each kind of request, with known prices and exact usage, through a real listening gateway and the
// official SDK: in gateway_cost_usd_total, in the log line's costUsd and in /admin/usage.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { ROOT, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { costCheck, eventually } from '../helpers/cost-check.js';
import { find } from '../helpers/prometheus.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const KEYS = ['responses', 'plain', 'streamed', 'streamed-own-usage', 'cached', 'reasoning', 'tools', 'images', 'image-tokens', 'pool-priced', 'rounding', 'abandoned', 'cited'];
const keyOf = (name: string): string => `gw-spend-key-${name}`;

/** $2 per million input tokens, $0.50 per million cached, $8 per million output: whole micro-dollars per token. */
const CHAT_PRICE = { inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 };

function spendConfig(upstreamUrl: string): GatewayConfigInput {
  const base = testConfig(upstreamUrl);
  return {
    ...base,
    adminToken: ADMIN_TOKEN,
    clientKeys: KEYS.map((name) => ({ name, key: keyOf(name) })),
    models: [
      { id: 'priced-chat', kind: 'chat', pricing: CHAT_PRICE },
      { id: 'pool-chat', kind: 'chat', pricing: CHAT_PRICE },
      // Priced per image only, so that an image miscounted in a chat answer would be all its cost.
      { id: 'cited-chat', kind: 'chat', pricing: { perImage: 0.04 } },
      { id: 'priced-image', kind: 'image', pricing: { perImage: 0.04 } },
      { id: 'token-image', kind: 'image', pricing: { inputPerMillion: 5, outputPerMillion: 40 } },
      // Shipped models, replaced whole: gpt-4o-mini takes the config's price over the price database's, and
      // gpt-5.4, no longer owned by openai, loses the database's.
      { id: 'gpt-4o-mini', kind: 'chat', pricing: { inputPerMillion: 0.15, cachedInputPerMillion: 0.075, outputPerMillion: 0.6 } },
      { id: 'gpt-5.4', kind: 'chat' },
    ],
    upstreams: [{ ...base.upstreams[0]!, pricing: { 'pool-chat': { inputPerMillion: 1, outputPerMillion: 4 } } }],
  };
}

describe('the cost of each request', () => {
  let upstream: UsageUpstream;
  let gateway: RunningGateway;
  const client = (name: string): OpenAI => gateway.client(keyOf(name));

  beforeAll(async () => {
    upstream = await startUsageUpstream();
    gateway = await startGateway(spendConfig(upstream.url));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const { scrape, expectCost } = costCheck(() => gateway, ADMIN_TOKEN);

  it('prices a plain answer: input and output tokens at their prices', async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    await client('plain').chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }] });
    // 1,200 × $2/M + 300 × $8/M = $0.0024 + $0.0024
    await expectCost('plain', 'priced-chat', 0.0048);
  });

  it('prices a stream whose client did not ask for usage (the gateway asks for it)', async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    const stream = await client('streamed').chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) expect(chunk.usage ?? undefined).toBeUndefined();
    await expectCost('streamed', 'priced-chat', 0.0048);
  });

  it("prices a stream with the client's own include_usage", async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    const stream = await client('streamed-own-usage').chat.completions.create({
      model: 'priced-chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let reported;
    for await (const chunk of stream) reported ??= chunk.usage ?? undefined;
    expect(reported?.total_tokens).toBe(1_500);
    await expectCost('streamed-own-usage', 'priced-chat', 0.0048);
  });

  it('prices cached input at the cached price, and counts what the cache saved', async () => {
    upstream.chatUsage = { prompt_tokens: 2_000, completion_tokens: 100, total_tokens: 2_100, prompt_tokens_details: { cached_tokens: 1_500 } };
    await client('cached').chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }] });
    // 500 × $2/M + 1,500 × $0.50/M + 100 × $8/M = $0.001 + $0.00075 + $0.0008
    await expectCost('cached', 'priced-chat', 0.00255);
    // 1,500 × ($2 − $0.50)/M
    expect(find(await scrape(), 'gateway_cost_saved_usd_total', { client_key: 'cached' })[0]?.value).toBe(0.00225);
  });

  it('prices reasoning tokens as the output tokens they are part of', async () => {
    upstream.chatUsage = { prompt_tokens: 100, completion_tokens: 1_000, total_tokens: 1_100, completion_tokens_details: { reasoning_tokens: 800 } };
    await client('reasoning').chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'think' }] });
    // 100 × $2/M + 1,000 × $8/M
    await expectCost('reasoning', 'priced-chat', 0.0082);
  });

  it('prices a tool call', async () => {
    upstream.chatUsage = { prompt_tokens: 300, completion_tokens: 20, total_tokens: 320 };
    upstream.toolCall = true;
    try {
      const answer = await client('tools').chat.completions.create({
        model: 'priced-chat',
        messages: [{ role: 'user', content: 'weather in Paris?' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      });
      expect(answer.choices[0]?.message.tool_calls?.[0]?.type).toBe('function');
    } finally {
      upstream.toolCall = false;
    }
    await expectCost('tools', 'priced-chat', 0.00076);
  });

  it('prices a Responses API answer with cached and reasoning tokens', async () => {
    upstream.responsesUsage = {
      input_tokens: 2_000,
      input_tokens_details: { cached_tokens: 1_500 },
      output_tokens: 1_000,
      output_tokens_details: { reasoning_tokens: 800 },
      total_tokens: 3_000,
    };
    const answer = await client('responses').responses.create({ model: 'priced-chat', input: 'hi' });
    expect(answer.output_text).toBe('Hello there.');
    // 500 × $2/M + 1,500 × $0.50/M + 1,000 × $8/M
    await expectCost('responses', 'priced-chat', 0.00975);
  });

  it('prices images per image returned, from an answer without usage', async () => {
    upstream.imageUsage = undefined;
    const images = await client('images').images.generate({ model: 'priced-image', prompt: 'a lighthouse', n: 3 });
    expect(images.data).toHaveLength(3);
    await expectCost('images', 'priced-image', 0.12);
  });

  it("prices an image model's input and output tokens", async () => {
    upstream.imageUsage = { input_tokens: 50, output_tokens: 272, total_tokens: 322 };
    await client('image-tokens').images.generate({ model: 'token-image', prompt: 'a lighthouse' });
    // 50 × $5/M + 272 × $40/M
    await expectCost('image-tokens', 'token-image', 0.01113);
  });

  it("counts no image in a chat answer whose citation has a url", async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    upstream.citation = true;
    try {
      const answer = await client('cited').chat.completions.create({ model: 'cited-chat', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.choices[0]?.message.annotations?.[0]?.url_citation.url).toBe('https://example.com/hello');
    } finally {
      upstream.citation = false;
    }
    await expectCost('cited', 'cited-chat', 0);
  });

  it("takes an upstream pool's own price for a model over the catalog's", async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    await client('pool-priced').chat.completions.create({ model: 'pool-chat', messages: [{ role: 'user', content: 'hi' }] });
    // 1,200 × $1/M + 300 × $4/M
    await expectCost('pool-priced', 'pool-chat', 0.0024);
  });

  it("prices a shipped model with the config's entry, rounded once to the micro-dollar", async () => {
    upstream.chatUsage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, prompt_tokens_details: { cached_tokens: 3 } };
    await client('rounding').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    // 4 × $0.15/M + 3 × $0.075/M + 2 × $0.60/M = 2.025 micro-dollars
    await expectCost('rounding', 'gpt-4o-mini', 0.000002);
  });

  it('charges a stream its client abandoned after the usage arrived', async () => {
    upstream.chatUsage = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };
    upstream.holdAfterUsage = true;
    try {
      const abort = new AbortController();
      const response = await fetch(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keyOf('abandoned')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }),
        signal: abort.signal,
      });
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        if (text.includes('"total_tokens"')) break;
      }
      abort.abort();
    } finally {
      upstream.holdAfterUsage = false;
    }
    await expectCost('abandoned', 'priced-chat', 0.0048, 499);
  });

  it('names every unpriced model in one warning at start-up, and only those', () => {
    const warnings = gateway.logs.lines.filter((l) => Array.isArray(l.models) && String(l.msg).includes('no price'));
    expect(warnings).toHaveLength(1);
    const models = warnings[0]!.models as string[];
    expect(warnings[0]!.level).toBe(40);
    // Not in the price database, or with its price taken away by the config's entry.
    const unpriced = ['Doubao-1.5-lite-32k', 'Doubao-1.5-pro-256k', 'Doubao-1.5-pro-32k', 'Doubao-pro-32k', 'chat-latest', 'tts-1', 'tts-1-hd', 'gpt-5.4'];
    expect([...models].sort()).toEqual(unpriced.sort());
  });

  it("has every metric the dashboard's spend row queries in /metrics", async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'config/grafana/dashboards/ai-gateway.json'), 'utf8')) as {
      panels: { id: number; type: string; title: string; gridPos: { y: number }; targets?: { expr: string }[] }[];
    };
    const row = dashboard.panels.find((p) => p.type === 'row' && p.title === 'Spend')!;
    const spendPanels = dashboard.panels.filter((p) => p.type !== 'row' && p.gridPos.y > row.gridPos.y && p.id >= row.id);
    const metrics = new Set(spendPanels.flatMap((p) => (p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\bgateway_[a-z_]+/g)].map((m) => m[0]))));
    expect([...metrics].sort()).toEqual(['gateway_budget_remaining_usd', 'gateway_cost_saved_usd_total', 'gateway_cost_usd_total']);
    // This gateway has no budgets; the budget gauge is checked where a key has one (budget tests).
    const exposition = await scrape();
    for (const metric of ['gateway_cost_usd_total', 'gateway_cost_saved_usd_total']) expect(find(exposition, metric).length, metric).toBeGreaterThan(0);
    expect(exposition.types.get('gateway_budget_remaining_usd')).toBe('gauge');
  });
});

describe('prices after a config reload', () => {
  let upstream: UsageUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = { prompt_tokens: 1_000, completion_tokens: 0, total_tokens: 1_000 };
    gateway = await startGateway(spendConfig(upstream.url));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('takes the new prices for the next requests, and names the unpriced models again when they changed', async () => {
    const client = gateway.client(keyOf('plain'));
    await client.chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }] });
    const next = spendConfig(upstream.url);
    next.models = [
      { id: 'priced-chat', kind: 'chat', pricing: { inputPerMillion: 3 } },
      { id: 'pool-chat', kind: 'chat' },
    ];
    gateway.app.services.reload(parseConfig(next, {}));
    await client.chat.completions.create({ model: 'priced-chat', messages: [{ role: 'user', content: 'hi' }] });
    const costs = await eventually(() => {
      const lines = gateway.logs.lines.filter((l) => l.clientKey === 'plain' && typeof l.costUsd === 'number');
      return lines.length === 2 ? lines.map((l) => l.costUsd) : undefined;
    }, 'two log lines');
    // 1,000 × $2/M before, 1,000 × $3/M after.
    expect(costs).toEqual([0.002, 0.003]);
    const warnings = gateway.logs.lines.filter((l) => Array.isArray(l.models) && String(l.msg).includes('no price'));
    expect(warnings).toHaveLength(2);
    // gpt-5.4 is the shipped model again, priced by the database; pool-chat keeps its pool's price.
    const unpriced = warnings[1]!.models as string[];
    expect(unpriced).toContain('Doubao-pro-32k');
    for (const priced of ['gpt-5.4', 'gpt-4o-mini', 'priced-chat', 'pool-chat']) expect(unpriced).not.toContain(priced);
  });
});
