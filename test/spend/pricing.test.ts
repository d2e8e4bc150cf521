import { describe, expect, it } from 'vitest';
import { readCatalogFile } from '../../src/catalog/catalog.js';
import { configSchema } from '../../src/config/schema.js';
import { formatUsd, microsToUsd, pricingSchema, requestCost, toMicroPricing } from '../../src/spend/pricing.js';
import { monthIndex, windowEnd } from '../../src/spend/windows.js';

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
    expect(monthIndex(Date.UTC(2027, 0, 1))).toBe(monthIndex(lastSecondOf2026) + 1);
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

  it('ships a dated price only for the model whose price the provider publishes, read from the catalog file', () => {
    const shipped = new Map(readCatalogFile().map((entry) => [entry.id, entry.pricing]));
    expect(shipped.get('gpt-5.4')).toEqual({ inputPerMillion: 2.5, cachedInputPerMillion: 0.25, outputPerMillion: 15 });
    expect(shipped.get('gpt-4o')).toBeUndefined();
  });
});
