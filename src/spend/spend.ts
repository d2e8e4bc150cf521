import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RequestContext } from '../request-context.js';
import type { BudgetStore, Spent } from './budget-store.js';
import { imagesIn } from './image-count.js';
import type { PriceList } from './price-list.js';
import { formatUsd, MICROS_PER_USD, microsToUsd, NO_COST, requestCost } from './pricing.js';
import { BUDGET_PERIODS, windowEnd, windowIndex, type BudgetPeriod } from './windows.js';

/** Micro-dollars: a key's budget per period, and what it is known to have spent in which window. */
interface KnownBudget {
  limits: Partial<Record<BudgetPeriod, number>>;
  spent: Spent;
  day: number;
  month: number;
}

export interface SpendOptions {
  store: BudgetStore;
  prices: PriceList;
  metrics: GatewayMetrics;
  log: FastifyBaseLogger;
  /** Epoch ms now; tests move it across a day or a month. */
  clock?: () => number;
}

const BUDGET_HEADER = 'x-gateway-budget-remaining-usd';

/**
 * What requests cost, and the keys' budgets: prices each request that ended from its usage, adds it to its
 * key's day and month (in Redis when configured, so every instance sees it), and refuses new requests of a
 * key whose budget is spent. Like the token limits, budgets fail open: when the spend cannot be read, the
 * request passes and `gateway_rate_limit_fail_open_total` counts it.
 */
export class Spend {
  /** Replaced on a reload, with the config it was built from. */
  prices: PriceList;
  readonly now: () => number;
  private readonly store: BudgetStore;
  private readonly metrics: GatewayMetrics;
  private readonly known = new Map<string, KnownBudget>();

  constructor(options: SpendOptions) {
    this.store = options.store;
    this.prices = options.prices;
    this.metrics = options.metrics;
    this.now = options.clock ?? Date.now;
    options.metrics.trackBudgets(() => this.remaining(this.now()));
  }

  /** Prices a request that ended, counts it in the metrics and its key's spend; returns its cost in micro-dollars. */
  charge(context: RequestContext): number {
    const { usage, clientKey, model, account } = context;
    if (usage === undefined || clientKey === undefined || model === undefined || account === undefined) return 0;
    const price = this.prices.priceOf(model, account.pool.name);
    const cost = price === undefined ? NO_COST : requestCost(usage, price, imagesIn(usage));
    this.metrics.requestCost(model, clientKey.name, account.name, cost.micros, cost.savedMicros);
    if (cost.micros > 0) {
      const now = this.now();
      this.store.add(clientKey.name, cost.micros, now);
      const known = this.known.get(clientKey.name);
      if (known !== undefined) this.spentNow(known, now, cost.micros);
    }
    return cost.micros;
  }

  /**
   * Admits or refuses a request of a key with a budget; resolves with the header that tells what is left.
   * A key without a budget is decided at once: `undefined`, no promise.
   */
  admit(client: ClientKey): Promise<Record<string, string> | undefined> | undefined {
    const limits = client.config.limits;
    if (limits?.usdPerDay === undefined && limits?.usdPerMonth === undefined) return undefined;
    const budget: KnownBudget['limits'] = {};
    if (limits.usdPerDay !== undefined) budget.day = Math.round(limits.usdPerDay * MICROS_PER_USD);
    if (limits.usdPerMonth !== undefined) budget.month = Math.round(limits.usdPerMonth * MICROS_PER_USD);
    return this.admitBudgeted(client.name, budget, this.now());
  }

  /**
   * The header of what is left of a key's budget as this instance last knew it, without asking the store:
   * for the responses of requests that are not admitted against the budget (`GET /v1/models`, say).
   */
  knownRemaining(keyName: string): Record<string, string> | undefined {
    const known = this.known.get(keyName);
    if (known === undefined) return undefined;
    this.roll(known, this.now());
    let remaining = Infinity;
    for (const period of BUDGET_PERIODS) {
      const limit = known.limits[period];
      if (limit !== undefined) remaining = Math.min(remaining, Math.max(0, limit - known.spent[period]));
    }
    return remaining === Infinity ? undefined : { [BUDGET_HEADER]: formatUsd(remaining) };
  }

  /** Each key's spend today and this month, in dollars. */
  async usage(keyNames: readonly string[]): Promise<{ today: number; month: number }[]> {
    const now = this.now();
    return Promise.all(
      keyNames.map(async (name) => {
        const spent = await this.store.spent(name, now);
        return { today: microsToUsd(spent.day), month: microsToUsd(spent.month) };
      }),
    );
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async admitBudgeted(keyName: string, limits: KnownBudget['limits'], now: number): Promise<Record<string, string> | undefined> {
    let spent: Spent;
    try {
      spent = await this.store.spent(keyName, now);
    } catch {
      this.metrics.rateLimitFailOpen();
      return undefined;
    }
    this.known.set(keyName, { limits, spent: { ...spent }, day: windowIndex('day', now), month: windowIndex('month', now) });
    let remaining = Infinity;
    let exhausted: BudgetPeriod | undefined;
    for (const period of BUDGET_PERIODS) {
      const limit = limits[period];
      if (limit === undefined) continue;
      remaining = Math.min(remaining, Math.max(0, limit - spent[period]));
      // When both are spent, the month decides when the key may spend again.
      if (spent[period] >= limit) exhausted = period;
    }
    if (exhausted !== undefined) throw budgetSpent(keyName, exhausted, limits[exhausted]!, spent[exhausted], now);
    return { [BUDGET_HEADER]: formatUsd(remaining) };
  }

  /** Adds this instance's charge to what it knows, so the gauge moves between admissions too. */
  private spentNow(known: KnownBudget, now: number, micros: number): void {
    this.roll(known, now);
    known.spent.day += micros;
    known.spent.month += micros;
  }

  /** Starts windows that have passed afresh. */
  private roll(known: KnownBudget, now: number): void {
    const day = windowIndex('day', now);
    const month = windowIndex('month', now);
    if (known.day !== day) {
      known.day = day;
      known.spent.day = 0;
    }
    if (known.month !== month) {
      known.month = month;
      known.spent.month = 0;
    }
  }

  /** What each key with a budget has left, as this instance knows it: for `gateway_budget_remaining_usd`. */
  private *remaining(now: number): Iterable<{ clientKey: string; period: BudgetPeriod; micros: number }> {
    for (const [clientKey, known] of this.known) {
      this.roll(known, now);
      for (const period of BUDGET_PERIODS) {
        const limit = known.limits[period];
        if (limit !== undefined) yield { clientKey, period, micros: Math.max(0, limit - known.spent[period]) };
      }
    }
  }
}

function budgetSpent(keyName: string, period: BudgetPeriod, limit: number, spent: number, now: number): GatewayError {
  const resetAt = windowEnd(period, now);
  const retryAfterMs = resetAt - now;
  const field = period === 'day' ? 'usdPerDay' : 'usdPerMonth';
  const window = period === 'day' ? 'today (UTC)' : 'this month (UTC)';
  return new GatewayError(
    429,
    'insufficient_quota',
    `The key '${keyName}' has spent its ${field} budget of $${formatUsd(limit)} ($${formatUsd(spent)} ${window}). ` +
      `New requests are refused until ${new Date(resetAt).toISOString()}.`,
    {
      code: 'insufficient_quota',
      headers: {
        'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
        'retry-after-ms': String(retryAfterMs),
        // The budget will not come back within any retry the SDKs would make.
        'x-should-retry': 'false',
        [BUDGET_HEADER]: '0',
      },
    },
  );
}

/**
 * Refuses the API's POST requests of a key whose budget is spent, before any other limit is counted; every
 * response of a key with a budget says what is left of it.
 */
export function enforceBudgets(app: FastifyInstance, spend: Spend): void {
  app.addHook('onRequest', (request, reply, done) => {
    const client = request.gateway.clientKey;
    if (client === undefined) return done();
    if (request.method !== 'POST') {
      const known = spend.knownRemaining(client.name);
      if (known !== undefined) reply.headers(known);
      return done();
    }
    const admitted = spend.admit(client);
    if (admitted === undefined) return done();
    admitted.then((headers) => {
      if (headers !== undefined) reply.headers(headers);
      done();
    }, done);
  });
}
