// A request whose client hangs up while its reservation is on its way to the store (its admission, or a
// larger reservation once its body is read) still gives that reservation back: nothing stays held.
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/auth/client-keys.js';
import { MemoryLimitStore, type Admission, type KeyLimits, type TokenReservation } from '../../src/limits/limiter.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { PrometheusMetrics } from '../../src/metrics/registry.js';
import { newRequestContext } from '../../src/request-context.js';
import { Gate } from '../helpers/gate.js';

const NOW = Date.UTC(2026, 10, 22, 10, 30, 15);
const LIMITS: KeyLimits = { tokensPerMinute: 1_000_000 };
const KEY: ClientKey = { name: 'limited', allowedModels: undefined, config: { name: 'limited', limits: LIMITS } } as ClientKey;

/** A memory store whose admissions and adjustments wait at a gate, as they would for a slow Redis. */
class HeldStore extends MemoryLimitStore {
  readonly gate = new Gate();

  override async admit(keyName: string, limits: KeyLimits, now: number, reserve: number): Promise<Admission> {
    await this.gate.pass();
    return super.admit(keyName, limits, now, reserve);
  }

  override async adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number, now: number): Promise<Admission> {
    await this.gate.pass();
    return super.adjust(keyName, limits, reservation, tokens, now);
  }
}

function setup(store: MemoryLimitStore) {
  const limiter = new RateLimiter(store, new PrometheusMetrics(), pino({ level: 'silent' }) as unknown as FastifyBaseLogger, () => NOW);
  const context = newRequestContext(0);
  context.clientKey = KEY;
  return { limiter, context };
}

describe('a client that hangs up while its reservation is being made', () => {
  it('during the admission: the reservation the admission makes is settled', async () => {
    const store = new HeldStore();
    const { limiter, context } = setup(store);
    store.gate.hold();
    const admitted = limiter.admit(KEY, context, 4_000, NOW)!;
    limiter.requestEnded(context, NOW); // the client left: the request ends before its admission is answered
    store.gate.release();
    await admitted;
    await expect.poll(async () => (await store.counts('limited', NOW)).tokensThisMinute).toBe(0);
    expect(context.tokenReservation).toBeUndefined();
  });

  it('during a larger reservation once the body is read: the larger one is settled', async () => {
    const store = new HeldStore();
    const { limiter, context } = setup(store);
    await limiter.admit(KEY, context, 0, NOW);
    store.gate.hold();
    const grown = limiter.adjust(context, { max_tokens: 50_000 }, 0, NOW)!;
    context.usage = { prompt: 3, completion: 4, cached: 0, reasoning: 0, total: 7 };
    limiter.requestEnded(context, NOW);
    store.gate.release();
    await grown;
    await expect.poll(async () => (await store.counts('limited', NOW)).tokensThisMinute).toBe(7);
  });
});
