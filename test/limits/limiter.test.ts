import { describe, expect, it } from 'vitest';
import { formatReset, rateLimitHeaders } from '../../src/limits/headers.js';
import { decide, MemoryLimitStore } from '../../src/limits/limiter.js';
import { DAY_MS } from '../../src/time-windows.js';
import { answerCap, DEFAULT_RESERVE_TOKENS, promptEstimate, reservationFor } from '../../src/limits/reservation.js';

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
    expect((await store.admit('k', limits, MINUTE_START, 0)).allowed).toBe(true);
    expect((await store.admit('k', limits, MINUTE_START + 1, 0)).allowed).toBe(true);
    expect((await store.admit('k', limits, MINUTE_START + 2, 0)).allowed).toBe(false);
    expect(await store.counts('k', MINUTE_START + 3)).toEqual({ requestsThisMinute: 2, tokensThisMinute: 0, tokensToday: 0 });
    expect((await store.admit('k', limits, MINUTE_START + 60_000, 0)).allowed).toBe(true);

    await store.addTokens('k', 120, MINUTE_START + 60_001);
    expect((await store.admit('k', limits, MINUTE_START + 60_002, 0)).exceeded).toBe('tokens');
    expect((await store.admit('k', limits, MINUTE_START + DAY_MS, 0)).allowed).toBe(true);
    expect(await store.counts('other', MINUTE_START)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 });
  });
});

describe('token reservations', () => {
  it('reserves the prompt from the body size and the answer from max_tokens, reserveTokens or the default', () => {
    expect(promptEstimate(401)).toBe(101);
    expect(answerCap({ max_tokens: 50 })).toBe(50);
    expect(answerCap({ max_completion_tokens: 60 })).toBe(60);
    expect(answerCap({ max_output_tokens: 70 })).toBe(70);
    expect(answerCap({ max_tokens: null, stream: true })).toBeUndefined();
    expect(reservationFor({}, 400, 50)).toBe(150);
    expect(reservationFor({ reserveTokens: 30 }, 400, undefined)).toBe(130);
    expect(reservationFor({}, 400, undefined)).toBe(100 + DEFAULT_RESERVE_TOKENS);
  });

  it('counts reservations against the window until they are settled with the tokens really used', async () => {
    const store = new MemoryLimitStore();
    const limits = { tokensPerMinute: 500 };
    const admitted = [];
    for (let i = 0; i < 10; i++) admitted.push(await store.admit('k', limits, MINUTE_START + i, 200));
    expect(admitted.map((a) => a.allowed)).toEqual([true, true, true, false, false, false, false, false, false, false]);
    for (const a of admitted.slice(0, 3)) await store.settle('k', { tokens: 200, minute: a.minute }, 40, MINUTE_START + 20);
    expect(await store.counts('k', MINUTE_START + 21)).toMatchObject({ tokensThisMinute: 120, tokensToday: 120 });
    expect((await store.admit('k', limits, MINUTE_START + 22, 200)).allowed).toBe(true);
  });

  it('settles a reservation made in a minute that has passed into the current windows only', async () => {
    const store = new MemoryLimitStore();
    const admission = await store.admit('k', { tokensPerMinute: 500 }, MINUTE_START, 300);
    await store.settle('k', { tokens: 300, minute: admission.minute }, 25, MINUTE_START + 60_000);
    expect(await store.counts('k', MINUTE_START + 60_001)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 25, tokensToday: 25 });
  });

  it('refuses a larger reservation once the window without it is spent, and leaves it as it was', async () => {
    const store = new MemoryLimitStore();
    const limits = { tokensPerMinute: 500 };
    const first = await store.admit('k', limits, MINUTE_START, 100);
    const second = await store.admit('k', limits, MINUTE_START, 100);
    const grown = await store.adjust('k', limits, { tokens: 100, minute: first.minute }, 520, MINUTE_START);
    expect(grown.allowed).toBe(true); // 100 of others' tokens, under 500
    const refused = await store.adjust('k', limits, { tokens: 100, minute: second.minute }, 450, MINUTE_START);
    expect(refused).toMatchObject({ allowed: false, exceeded: 'tokens' }); // 520 of others' tokens
    expect((await store.counts('k', MINUTE_START)).tokensThisMinute).toBe(620);
    const shrunk = await store.adjust('k', limits, { tokens: 100, minute: second.minute }, 10, MINUTE_START);
    expect(shrunk.allowed).toBe(true);
    expect((await store.counts('k', MINUTE_START)).tokensThisMinute).toBe(530);
  });
});
