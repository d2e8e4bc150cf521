// A request whose client hangs up while its budget reservation is still on its way to the store gives back
// the reservation the store then makes: nothing stays held.
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/auth/client-keys.js';
import { PrometheusMetrics } from '../../src/metrics/registry.js';
import { newRequestContext } from '../../src/request-context.js';
import { MemoryBudgetStore, type BudgetDecision, type BudgetLimits } from '../../src/spend/budget-store.js';
import type { PriceList } from '../../src/spend/price-list.js';
import { toMicroPricing } from '../../src/spend/pricing.js';
import { Spend } from '../../src/spend/spend.js';
import { Gate } from '../helpers/gate.js';

const NOW = Date.UTC(2026, 11, 10, 12, 0, 0);
const KEY = { name: 'budgeted', allowedModels: undefined, config: { name: 'budgeted', limits: { usdPerDay: 1 } } } as ClientKey;
/** $1 per million output tokens: a reservation of max_tokens 1,000 is 1,000 micro-dollars. */
const PRICES = { priceFor: () => toMicroPricing({ outputPerMillion: 1 }), unpriced: () => [] } as unknown as PriceList;

/** A memory store whose reservations wait at a gate, as they would for a slow Redis. */
class HeldStore extends MemoryBudgetStore {
  readonly gate = new Gate();

  override async reserve(keyName: string, limits: BudgetLimits, micros: number, now: number): Promise<BudgetDecision> {
    await this.gate.pass();
    return super.reserve(keyName, limits, micros, now);
  }
}

describe('a client that hangs up while its budget reservation is being made', () => {
  it('gives back the reservation the store makes after the request ended', async () => {
    const store = new HeldStore();
    const spend = new Spend({ store, prices: PRICES, metrics: new PrometheusMetrics(), log: pino({ level: 'silent' }) as unknown as FastifyBaseLogger, clock: () => NOW });
    const context = newRequestContext(0);
    context.clientKey = KEY;
    store.gate.hold();
    const reserved = spend.reserve(context, { model: 'priced', max_tokens: 1_000 }, 0)!;
    spend.charge(context); // the client left: the request ends before the store answered
    store.gate.release();
    await reserved;
    await expect.poll(() => store.held('budgeted')).toBe(0);
    // And the reservation was really made, then given back: the budget is whole for the next request.
    expect((await store.reserve('budgeted', { day: 1_000_000 }, 1_000_000, NOW)).allowed).toBe(true);
  });
});
