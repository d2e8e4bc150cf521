import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { Usage } from '../../src/proxy/usage.js';
import { buildRouting } from '../../src/reload.js';
import { DATA_DATES, fromDatabase, priceDatabase } from '../../src/spend/price-database.js';
import { PriceList } from '../../src/spend/price-list.js';
import { requestCost } from '../../src/spend/pricing.js';
import { databaseMicros } from '../helpers/genai-prices.js';
import { ROOT } from '../helpers/gateway.js';

function priceList(extra: Partial<GatewayConfigInput> = {}): PriceList {
  const config = parseConfig(
    {
      clientKeys: [{ name: 'team', key: 'k' }],
      upstreams: [{ name: 'pool-a', baseUrl: 'http://127.0.0.1:1/v1', accounts: [{ name: 'a', apiKey: 'sk-a' }] }],
      ...extra,
    },
    {},
  );
  const { catalog, router } = buildRouting(config);
  return new PriceList(catalog, router, config.upstreams);
}

const usage = (prompt: number, completion: number, more: Partial<Usage> = {}): Usage => ({
  prompt,
  completion,
  cached: 0,
  reasoning: 0,
  total: prompt + completion,
  ...more,
});

const CLAUDE = [
  { id: 'claude-sonnet-4-5', kind: 'chat', ownedBy: 'anthropic' },
  { id: 'claude-haiku-4-5', kind: 'chat', ownedBy: 'anthropic' },
] as const;

describe('the price list', () => {
  it('prices every shipped catalog model from the price database but those it does not list', () => {
    const prices = priceList();
    const from = (source: string): string[] => prices.entries().filter((e) => e.source === source).map((e) => e.model);
    const unpriced = ['Doubao-1.5-lite-32k', 'Doubao-1.5-pro-256k', 'Doubao-1.5-pro-32k', 'Doubao-pro-32k', 'chat-latest', 'tts-1', 'tts-1-hd'];
    expect(from('none').sort()).toEqual(unpriced.sort());
    expect(from('config')).toEqual([]);
    expect(from('price-database')).toHaveLength(33 + 16); // 16 Claude models
    expect(prices.entries().find((e) => e.model === 'gpt-5-codex')).toMatchObject({ source: 'price-database', matched: 'openai/gpt-5', pool: 'pool-a' });
    expect(prices.unpriced().sort()).toEqual(unpriced.sort());
  });

  it("gives a model's price in config over the database's, and a pool's own price over both", () => {
    const prices = priceList({
      models: [{ id: 'gpt-4o', kind: 'chat', ownedBy: 'openai', pricing: { inputPerMillion: 1, outputPerMillion: 2 } }],
      upstreams: [{ name: 'pool-a', baseUrl: 'http://127.0.0.1:1/v1', accounts: [{ name: 'a', apiKey: 'sk-a' }], pricing: { 'gpt-5': { inputPerMillion: 0.5 } } }],
    });
    expect(prices.priceOf('gpt-4o', 'pool-a')).toMatchObject({ input: 1_000_000, cachedInput: 1_000_000, output: 2_000_000 });
    expect(prices.priceOf('gpt-5', 'pool-a')).toMatchObject({ input: 500_000, output: 0 });
    // Another pool without its own price gets the database's.
    expect(prices.priceOf('gpt-5', 'pool-b')).toMatchObject({ input: 1_250_000, cachedInput: 125_000, output: 10_000_000 });
    const sources = Object.fromEntries(prices.entries().map((e) => [e.model, e.source]));
    expect(sources).toMatchObject({ 'gpt-4o': 'config', 'gpt-5': 'config', 'gpt-4o-mini': 'price-database' });
    const usage1 = usage(1_000_000, 1_000_000);
    expect(requestCost(usage1, prices.priceOf('gpt-4o', 'pool-a')!).micros).toBe(3_000_000);
    expect(requestCost(usage1, prices.priceOf('gpt-4o-mini', 'pool-a')!).micros).toBe(databaseMicros(usage1, 'gpt-4o-mini', 'openai'));
  });

  it('takes prices from the provider that ownedBy names, and no other', () => {
    const prices = priceList({
      models: [
        { id: 'gpt-4o-house', kind: 'chat' },
        { id: 'claude-haiku-4-5', kind: 'chat', ownedBy: 'bytedance' },
      ],
    });
    expect(prices.unpriced()).toEqual(expect.arrayContaining(['gpt-4o-house', 'claude-haiku-4-5']));
  });

  it('takes no price that changes with the hour of the day, which a price read once at start would get wrong', () => {
    const prices = priceList({ models: [{ id: 'deepseek-chat', kind: 'chat', ownedBy: 'deepseek' }] });
    expect(prices.unpriced()).toContain('deepseek-chat');
  });

  it("takes Claude's cache-write prices, five-minute and one-hour, from the database", () => {
    const prices = priceList({ models: [...CLAUDE] });
    expect(prices.priceOf('claude-haiku-4-5', 'pool-a')).toMatchObject({ input: 1_000_000, cachedInput: 100_000, cacheWrite: 1_250_000, cacheWrite1h: 2_000_000, output: 5_000_000 });
    const cases = [
      usage(10_000, 700, { cached: 2_000, cacheWrite: 5_000, cacheWrite1h: 1_500 }),
      usage(4_321, 99, { cacheWrite: 4_000 }),
      usage(250_000, 3_000, { cached: 100_000, cacheWrite: 50_000, cacheWrite1h: 50_000 }),
    ];
    for (const { id } of CLAUDE) {
      for (const u of cases) expect(requestCost(u, prices.priceOf(id, 'pool-a')!).micros, `${id} ${JSON.stringify(u)}`).toBe(databaseMicros(u, id, 'anthropic'));
    }
  });

  it("bills past a context-length tier as the database does, on Claude's and OpenAI's tiered models", () => {
    const prices = priceList({ models: [...CLAUDE] });
    expect(prices.priceOf('claude-sonnet-4-5', 'pool-a')!.tiers).toEqual([expect.objectContaining({ aboveInputTokens: 200_000, input: 6_000_000, cacheWrite: 7_500_000 })]);
    for (const [model, provider, threshold] of [
      ['claude-sonnet-4-5', 'anthropic', 200_000],
      ['gpt-5.4', 'openai', 271_999],
      ['gpt-5.5', 'openai', 271_999],
    ] as const) {
      for (const prompt of [threshold, threshold + 1, threshold + 12_345]) {
        const u = usage(prompt, 2_000, { cached: 10_000, ...(provider === 'anthropic' ? { cacheWrite: 20_000 } : {}) });
        expect(requestCost(u, prices.priceOf(model, 'pool-a')!).micros, `${model} ${prompt}`).toBe(databaseMicros(u, model, provider));
      }
    }
  });
});

describe('the price database', () => {
  it('is the installed release, whose data date is known', () => {
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules/@pydantic/genai-prices/package.json'), 'utf8')) as { version: string };
    expect(priceDatabase.version).toBe(installed.version);
    // Upgrading the package? Add its release's publication day to DATA_DATES.
    expect(DATA_DATES[installed.version]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(priceDatabase.dataDate).toBe(DATA_DATES[installed.version]);
  });

  it("turns the database's per-key tiers into tiers of every price in force above each step", () => {
    const pricing = fromDatabase({
      input_mtok: { base: 1, tiers: [{ start: 100, price: 2 }, { start: 10, price: 1.5 }] },
      output_mtok: { base: 4, tiers: [{ start: 100, price: 8 }] },
      cache_read_mtok: 0.1,
      audio_hours: 0.36,
      web_searches_kcount: 10,
    });
    expect(pricing).toEqual({
      inputPerMillion: 1,
      outputPerMillion: 4,
      cachedInputPerMillion: 0.1,
      perAudioMinute: 0.006,
      tiers: [
        { aboveInputTokens: 10, inputPerMillion: 1.5, outputPerMillion: 4, cachedInputPerMillion: 0.1 },
        { aboveInputTokens: 100, inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.1 },
      ],
    });
  });
});
