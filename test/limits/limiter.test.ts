import { describe, expect, it } from 'vitest';
import { formatReset, rateLimitHeaders } from '../../src/limits/headers.js';
import { DAY_MS, decide, MemoryLimitStore } from '../../src/limits/limiter.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

describe('limit decisions over fixed windows', () => {
  it('allows up to requestsPerMinute and refuses the next, until the minute ends', () => {
    const now = MINUTE_START + 15_000;
    expect(decide({ requestsPerMinute: 3 }, { requestsThisMinute: 2, tokensThisMinute: 0, tokensToday: 0 }, now)).toMatchObject({
      allowed: true,
      requests: { limit: 3, remaining: 0, resetMs: 45_000 },
    });
    expect(decide({ requestsPerMinute: 3 }, { requestsThisMinute: 3, tokensThisMinute: 0, tokensToday: 0 }, now)).toMatchObject({
      allowed: false,
      exceeded: 'requests',
      retryAfterMs: 45_000,
    });
  });

  it('refuses new requests once the minute or day tokens are spent', () => {
    const now = MINUTE_START;
    expect(decide({ tokensPerMinute: 100 }, { requestsThisMinute: 0, tokensThisMinute: 99, tokensToday: 99 }, now).allowed).toBe(true);
    expect(decide({ tokensPerMinute: 100 }, { requestsThisMinute: 0, tokensThisMinute: 100, tokensToday: 100 }, now)).toMatchObject({ allowed: false, exceeded: 'tokens', retryAfterMs: 60_000 });
    const day = decide({ tokensPerDay: 1000 }, { requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 1200 }, now);
    expect(day).toMatchObject({ allowed: false, exceeded: 'tokens', tokens: { limit: 1000, remaining: 0 } });
    // 10:30 UTC: the day resets at midnight UTC, 13.5 hours on.
    expect(day.retryAfterMs).toBe(13.5 * 3_600_000);
  });

  it('reports the token limit with the least left', () => {
    const both = decide({ tokensPerMinute: 100, tokensPerDay: 1000 }, { requestsThisMinute: 0, tokensThisMinute: 10, tokensToday: 950 }, MINUTE_START);
    expect(both.tokens).toMatchObject({ limit: 1000, remaining: 50 });
  });

  it('writes OpenAI-style rate-limit headers, with Retry-After when refused', () => {
    const refused = decide({ requestsPerMinute: 1, tokensPerMinute: 50 }, { requestsThisMinute: 1, tokensThisMinute: 20, tokensToday: 20 }, MINUTE_START + 59_500);
    expect(rateLimitHeaders(refused)).toEqual({
      'x-ratelimit-limit-requests': '1',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '500ms',
      'x-ratelimit-limit-tokens': '50',
      'x-ratelimit-remaining-tokens': '30',
      'x-ratelimit-reset-tokens': '500ms',
      'retry-after': '1',
      'retry-after-ms': '500',
    });
    expect(formatReset(1_500)).toBe('1.5s');
    expect(formatReset(360_000)).toBe('6m0s');
    expect(formatReset(3_723_000)).toBe('1h2m3s');
  });
});

describe('in-memory limit store', () => {
  it('counts allowed requests only, and starts each window afresh', async () => {
    const store = new MemoryLimitStore();
    const limits = { requestsPerMinute: 2, tokensPerDay: 100 };
    expect((await store.admit('k', limits, MINUTE_START)).allowed).toBe(true);
    expect((await store.admit('k', limits, MINUTE_START + 1)).allowed).toBe(true);
    expect((await store.admit('k', limits, MINUTE_START + 2)).allowed).toBe(false);
    expect(await store.counts('k', MINUTE_START + 3)).toEqual({ requestsThisMinute: 2, tokensThisMinute: 0, tokensToday: 0 });
    expect((await store.admit('k', limits, MINUTE_START + 60_000)).allowed).toBe(true);

    await store.addTokens('k', 120, MINUTE_START + 60_001);
    expect((await store.admit('k', limits, MINUTE_START + 60_002)).exceeded).toBe('tokens');
    expect((await store.admit('k', limits, MINUTE_START + DAY_MS)).allowed).toBe(true);
    expect(await store.counts('other', MINUTE_START)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 });
  });
});
