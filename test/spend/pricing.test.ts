import { describe, expect, it } from 'vitest';
import { readCatalogFile } from '../../src/catalog/catalog.js';
import { configSchema } from '../../src/config/schema.js';
import { formatUsd, microsToUsd, pricingSchema, requestCost, toMicroPricing } from '../../src/spend/pricing.js';
import { windowEnd } from '../../src/spend/windows.js';
import { monthWindow } from '../../src/time-windows.js';

const usage = (prompt: number, completion: number, cached = 0) => ({ prompt, completion, cached, reasoning: 0, total: prompt + completion });

describe('request cost', () => {
  const gpt4oMini = toMicroPricing({ inputPerMillion: 0.15, cachedInputPerMillion: 0.075, outputPerMillion: 0.6 });

  it('prices cached input at the cached price and the rest of the input at the input price', () => {
    // 1,000,000 prompt tokens of which 400,000 cached, 100,000 completion tokens:
    // 600,000 × $0.15/M + 400,000 × $0.075/M + 100,000 × $0.60/M = $0.09 + $0.03 + $0.06 = $0.18
    expect(requestCost(usage(1_000_000, 100_000, 400_000), gpt4oMini)).toEqual({ micros: 180_000, savedMicros: 30_000 });
  });

  it('adds up in whole micro-dollars, without the drift of summing floats', () => {
    // $0.1 + $0.2 in floats is 0.30000000000000004; in micro-dollars it is exactly 300,000.
    const price = toMicroPricing({ inputPerMillion: 0.1, outputPerMillion: 0.2 });
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += requestCost(usage(1_000_000, 1_000_000), price).micros;
    expect(total).toBe(3_000_000_000);
    expect(microsToUsd(total)).toBe(3000);
  });

  it('rounds a request to the nearest micro-dollar once, from the exact sum', () => {
    // 3 cached tokens at $0.075/M = 0.225 µ$, 3 uncached at $0.15/M = 0.45 µ$, 1 output at $0.60/M = 0.6 µ$: 1.275 µ$.
    expect(requestCost(usage(6, 1, 3), gpt4oMini).micros).toBe(1);
    expect(requestCost(usage(10, 0), toMicroPricing({ inputPerMillion: 0.05 })).micros).toBe(1); // 0.5 µ$ rounds up
  });

  it('defaults the cached price to the input price, so cached tokens then save nothing', () => {
    const price = toMicroPricing({ inputPerMillion: 2, outputPerMillion: 8 });
    expect(requestCost(usage(1_000, 500, 1_000), price)).toEqual({ micros: 6_000, savedMicros: 0 });
  });

  it('prices images per image returned, and tokens of image models like any tokens', () => {
    expect(requestCost(usage(0, 0), toMicroPricing({ perImage: 0.04 }), 3).micros).toBe(120_000);
    expect(requestCost(usage(50, 272), toMicroPricing({ inputPerMillion: 5, outputPerMillion: 40 })).micros).toBe(11_130);
  });

  it('never counts more cached tokens than prompt tokens', () => {
    expect(requestCost(usage(10, 0, 50), toMicroPricing({ inputPerMillion: 1, cachedInputPerMillion: 0.5 }))).toEqual({ micros: 5, savedMicros: 5 });
  });

  const claude = toMicroPricing({ inputPerMillion: 3, cachedInputPerMillion: 0.3, cacheWritePerMillion: 3.75, cacheWrite1hPerMillion: 6, outputPerMillion: 15 });

  it('prices cache writes at the five-minute and one-hour cache-write prices', () => {
    // 10,000 input tokens: 2,000 read from the cache, 3,000 written for 5 minutes, 1,000 for an hour, 4,000 plain.
    const written = { ...usage(10_000, 100, 2_000), cacheWrite: 4_000, cacheWrite1h: 1_000 };
    // 4,000 × $3 + 2,000 × $0.30 + 3,000 × $3.75 + 1,000 × $6 + 100 × $15, per million
    expect(requestCost(written, claude)).toEqual({ micros: 12_000 + 600 + 11_250 + 6_000 + 1_500, savedMicros: 5_400 });
  });

  it('defaults cache writes to the input price, and one-hour writes to the five-minute price', () => {
    const price = toMicroPricing({ inputPerMillion: 2, cacheWritePerMillion: 2.5 });
    expect(price).toMatchObject({ cacheWrite: 2_500_000, cacheWrite1h: 2_500_000 });
    expect(toMicroPricing({ inputPerMillion: 2 })).toMatchObject({ cachedInput: 2_000_000, cacheWrite: 2_000_000, imageInput: 2_000_000, audioInput: 2_000_000 });
  });

  it('prices image and audio input tokens at their own prices, and audio by the minute', () => {
    const image = toMicroPricing({ inputPerMillion: 5, imageInputPerMillion: 8, outputPerMillion: 30 });
    // 100 text + 900 image input tokens, 4,000 output: 100 × $5 + 900 × $8 + 4,000 × $30, per million
    expect(requestCost({ ...usage(1_000, 4_000), imageInput: 900 }, image).micros).toBe(500 + 7_200 + 120_000);
    const transcribe = toMicroPricing({ inputPerMillion: 2.5, audioInputPerMillion: 6, outputPerMillion: 10 });
    expect(requestCost({ ...usage(1_000, 50), audioInput: 990 }, transcribe).micros).toBe(25 + 5_940 + 500);
    // 95 seconds at $0.006 a minute = $0.0095
    expect(requestCost({ ...usage(0, 0), seconds: 95 }, toMicroPricing({ perAudioMinute: 0.006 })).micros).toBe(9_500);
  });

  it('never counts more cache-write, image or audio tokens than the input tokens left for them', () => {
    const price = toMicroPricing({ inputPerMillion: 1, cachedInputPerMillion: 0.5, cacheWritePerMillion: 2, cacheWrite1hPerMillion: 4, imageInputPerMillion: 8, audioInputPerMillion: 16 });
    // 100 input tokens: 60 cached, 40 written (of which "500" for an hour: 40), none left for images or audio.
    const lying = { ...usage(100, 0, 60), cacheWrite: 70, cacheWrite1h: 500, imageInput: 1_000, audioInput: 1_000 };
    // 60 × $0.50/M + 40 × $4/M
    expect(requestCost(lying, price).micros).toBe(30 + 160);
  });

  it("bills a request past a tier's input tokens at the tier's prices, all of its tokens", () => {
    const tiered = toMicroPricing({ inputPerMillion: 2.5, cachedInputPerMillion: 0.25, outputPerMillion: 15, tiers: [{ aboveInputTokens: 271_999, inputPerMillion: 5, outputPerMillion: 22.5 }] });
    expect(requestCost(usage(271_999, 1_000), tiered).micros).toBe(Math.round(271_999 * 2.5 + 1_000 * 15));
    // 272,000 × $5 + 1,000 × $22.50; the cached price the tier does not name stays the base one.
    expect(requestCost(usage(272_000, 1_000), tiered).micros).toBe(1_360_000 + 22_500);
    expect(requestCost(usage(272_000, 0, 72_000), tiered).micros).toBe(1_000_000 + 18_000);
  });
});

describe('pricing in the config', () => {
  it('takes token prices or a price per image', () => {
    expect(pricingSchema.safeParse({ inputPerMillion: 1, outputPerMillion: 2 }).success).toBe(true);
    expect(pricingSchema.safeParse({ perImage: 0.04 }).success).toBe(true);
  });

  it('refuses an empty price, a negative one, an unknown field, and token prices beside a price per image', () => {
    expect(pricingSchema.safeParse({}).success).toBe(false);
    expect(pricingSchema.safeParse({ inputPerMillion: -1 }).success).toBe(false);
    expect(pricingSchema.safeParse({ inputPrice: 1 }).success).toBe(false);
    expect(pricingSchema.safeParse({ inputPerMillion: 1, perImage: 0.04 }).success).toBe(false);
  });

  it('takes cache-write prices and tiers, and refuses an empty tier or two tiers at one threshold', () => {
    expect(pricingSchema.safeParse({ inputPerMillion: 3, cacheWritePerMillion: 3.75, cacheWrite1hPerMillion: 6 }).success).toBe(true);
    expect(pricingSchema.safeParse({ inputPerMillion: 3, tiers: [{ aboveInputTokens: 200_000, inputPerMillion: 6 }] }).success).toBe(true);
    expect(pricingSchema.safeParse({ inputPerMillion: 3, tiers: [{ aboveInputTokens: 200_000 }] }).success).toBe(false);
    expect(pricingSchema.safeParse({ inputPerMillion: 3, tiers: [{ aboveInputTokens: -1, inputPerMillion: 6 }] }).success).toBe(false);
    const twice = [{ aboveInputTokens: 1, inputPerMillion: 6 }, { aboveInputTokens: 1, inputPerMillion: 7 }];
    expect(pricingSchema.safeParse({ inputPerMillion: 3, tiers: twice }).success).toBe(false);
  });
});

describe('dollar amounts', () => {
  it('formats micro-dollars as a plain decimal', () => {
    expect(formatUsd(0)).toBe('0');
    expect(formatUsd(1)).toBe('0.000001');
    expect(formatUsd(5_000_000)).toBe('5');
    expect(formatUsd(4_987_650)).toBe('4.98765');
  });
});

describe('budget windows', () => {
  it('end at the next midnight UTC and at the first of the next month, across a year', () => {
    const lastSecondOf2026 = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(windowEnd('day', lastSecondOf2026)).toBe(Date.UTC(2027, 0, 1));
    expect(windowEnd('month', lastSecondOf2026)).toBe(Date.UTC(2027, 0, 1));
    expect(windowEnd('month', Date.UTC(2028, 1, 29, 12))).toBe(Date.UTC(2028, 2, 1));
    expect(monthWindow(Date.UTC(2027, 0, 1))).toBe(monthWindow(lastSecondOf2026) + 1);
  });
});

describe('prices and budgets in the gateway config', () => {
  const base = { clientKeys: [{ name: 'team', key: 'k' }], upstreams: [{ name: 'u', baseUrl: 'http://127.0.0.1:1/v1', accounts: [{ name: 'a', apiKey: 'sk-a' }] }] };

  it('takes prices on models and upstream pools, and budgets on keys', () => {
    const config = configSchema.parse({
      ...base,
      models: [{ id: 'm', kind: 'chat', pricing: { inputPerMillion: 1, outputPerMillion: 2 } }],
      upstreams: [{ ...base.upstreams[0], pricing: { m: { inputPerMillion: 0.5 } } }],
      clientKeys: [{ name: 'team', key: 'k', limits: { usdPerDay: 5, usdPerMonth: 100.5 } }],
    });
    expect(config.upstreams[0]!.pricing).toEqual({ m: { inputPerMillion: 0.5 } });
    expect(config.clientKeys[0]!.limits).toEqual({ usdPerDay: 5, usdPerMonth: 100.5 });
  });

  it('refuses a budget that is not a positive amount and a price with an unknown field', () => {
    expect(configSchema.safeParse({ ...base, clientKeys: [{ name: 'team', key: 'k', limits: { usdPerDay: 0 } }] }).success).toBe(false);
    expect(configSchema.safeParse({ ...base, clientKeys: [{ name: 'team', key: 'k', limits: { usdPerMonth: -1 } }] }).success).toBe(false);
    expect(configSchema.safeParse({ ...base, upstreams: [{ ...base.upstreams[0], pricing: { m: { input: 1 } } }] }).success).toBe(false);
  });

  it('ships no hand-typed prices in the catalog file: the price database prices its models', () => {
    expect(readCatalogFile().filter((entry) => entry.pricing !== undefined)).toEqual([]);
  });
});
