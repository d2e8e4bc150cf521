// A request whose parsed body lowers its token reservation does not wait for the store to move it: a short
// request settles with its first reservation, a longer one gets the move and settles after it; the windows
// come out exact either way.
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/auth/client-keys.js';
import { MemoryLimitStore, type Admission, type KeyLimits, type TokenReservation } from '../../src/limits/limiter.js';
import { RateLimiter, SHRINK_INTERVAL_MS } from '../../src/limits/rate-limiter.js';
import { DEFAULT_RESERVE_TOKENS, promptEstimate } from '../../src/limits/reservation.js';
import { PrometheusMetrics } from '../../src/metrics/registry.js';
import { newRequestContext } from '../../src/request-context.js';

const NOW = Date.UTC(2026, 10, 22, 10, 30, 15);
const LIMITS: KeyLimits = { tokensPerMinute: 1_000_000 };
const KEY: ClientKey = { name: 'limited', allowedModels: undefined, config: { name: 'limited', limits: LIMITS } } as ClientKey;

/** A memory store whose adjustments wait until released, as a slow Redis would. */
class HeldAdjustments extends MemoryLimitStore {
  private release: () => void = () => {};
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  adjustments = 0;

  override async adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number, now: number): Promise<Admission> {
    this.adjustments++;
    await this.held;
    return super.adjust(keyName, limits, reservation, tokens, now);
  }

  releaseAll(): void {
    this.release();
  }
}

describe('a smaller reservation', () => {
  const setup = (store: MemoryLimitStore) => {
    const limiter = new RateLimiter(store, new PrometheusMetrics(), pino({ level: 'silent' }) as unknown as FastifyBaseLogger, () => NOW);
    const context = newRequestContext(0);
    context.clientKey = KEY;
    return { limiter, context };
  };
  const sweeps = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n * SHRINK_INTERVAL_MS + 20));

  it('is not waited for; a request that ends first settles with its first reservation and no move', async () => {
    const store = new HeldAdjustments();
    const { limiter, context } = setup(store);
    const bodyBytes = 200;
    await limiter.admit(KEY, context, bodyBytes, NOW);
    expect(context.tokenReservation?.tokens).toBe(promptEstimate(bodyBytes) + DEFAULT_RESERVE_TOKENS);

    // max_tokens 16 lowers the reservation: nothing to wait for.
    expect(limiter.adjust(context, { max_tokens: 16 }, bodyBytes, NOW)).toBeUndefined();
    context.usage = { prompt: 30, completion: 10, total: 40 } as typeof context.usage;
    limiter.requestEnded(context, NOW);
    await sweeps(2);
    expect(store.adjustments).toBe(0);
    expect((await store.counts('limited', NOW)).tokensThisMinute).toBe(40);
  });

  it('is moved in the store for a request still running, which settles after the move', async () => {
    const store = new HeldAdjustments();
    const { limiter, context } = setup(store);
    const bodyBytes = 200;
    await limiter.admit(KEY, context, bodyBytes, NOW);
    limiter.adjust(context, { max_tokens: 16 }, bodyBytes, NOW);
    await sweeps(2);
    expect(store.adjustments).toBe(1);
    context.usage = { prompt: 30, completion: 10, total: 40 } as typeof context.usage;
    limiter.requestEnded(context, NOW); // the move has not landed yet: the settle waits for it
    store.releaseAll();
    await sweeps(0);
    expect((await store.counts('limited', NOW)).tokensThisMinute).toBe(40);
    await limiter.close();
  });

  it('a larger one is still decided before the request goes on', async () => {
    const store = new HeldAdjustments();
    const { limiter, context } = setup(store);
    await limiter.admit(KEY, context, 0, NOW);
    const waited = limiter.adjust(context, { max_tokens: 50_000 }, 0, NOW);
    expect(waited).toBeInstanceOf(Promise);
    store.releaseAll();
    await waited;
    expect(context.tokenReservation?.tokens).toBe(50_000);
  });
});
