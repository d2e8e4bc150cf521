import type { FastifyBaseLogger } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import type { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RequestContext } from '../request-context.js';
import { BUDGET_HEADER, budgetRefused, budgetSpent } from './budget-errors.js';
import type { BudgetLimits, BudgetStore, Spent } from './budget-store.js';
import { imagesIn } from './image-count.js';
import type { PriceList } from './price-list.js';
import { formatUsd, MICROS_PER_USD, microsToUsd, NO_COST, requestCost } from './pricing.js';
import { budgetReservation } from './reservation.js';
import { BUDGET_PERIODS, windowIndex, type BudgetPeriod } from './windows.js';
import type { LimitsConfig } from '../config/schema.js';
import { teamStoreName } from '../limits/team.js';

/** Micro-dollars: a key's budget per period, and what it is known to have spent in which window. */
interface KnownBudget {
  limits: BudgetLimits;
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

/** Budgets in micro-dollars; undefined without any. */
function budgetOf(limits: LimitsConfig | undefined): BudgetLimits | undefined {
  if (limits?.usdPerDay === undefined && limits?.usdPerMonth === undefined) return undefined;
  const budget: BudgetLimits = {};
  if (limits.usdPerDay !== undefined) budget.day = Math.round(limits.usdPerDay * MICROS_PER_USD);
  if (limits.usdPerMonth !== undefined) budget.month = Math.round(limits.usdPerMonth * MICROS_PER_USD);
  return budget;
}

/** One budget a request is held against: its key's, or its team's (shared by the team's keys). */
interface BudgetSubject {
  /** The name its spend is kept under in the store. */
  storeName: string;
  /** How a refusal names it. */
  who: string;
  limits: BudgetLimits;
  /** For the reservation: the `reserveTokens` it says. */
  config: LimitsConfig;
  slot: 'budgetReservation' | 'teamBudgetReservation';
}

/** The team whose budget a key's requests also count against; undefined when its team has none. */
function teamBudget(client: ClientKey): BudgetSubject | undefined {
  const limits = budgetOf(client.teamLimits);
  if (client.team === undefined || limits === undefined) return undefined;
  return { storeName: teamStoreName(client.team), who: `team '${client.team}'`, limits, config: client.teamLimits ?? {}, slot: 'teamBudgetReservation' };
}

/** The budgets a request of this key is held against: its own, then its team's. */
function budgetsOf(client: ClientKey): BudgetSubject[] {
  const subjects: BudgetSubject[] = [];
  const own = budgetOf(client.config.limits);
  if (own !== undefined) subjects.push({ storeName: client.name, who: `key '${client.name}'`, limits: own, config: client.config.limits ?? {}, slot: 'budgetReservation' });
  const team = teamBudget(client);
  if (team !== undefined) subjects.push(team);
  return subjects;
}

/** The least left of a key's budgets, in micro-dollars (Infinity without any). */
function leastLeft(limits: BudgetLimits, spent: Spent): number {
  let remaining = Infinity;
  for (const period of BUDGET_PERIODS) {
    const limit = limits[period];
    if (limit !== undefined) remaining = Math.min(remaining, Math.max(0, limit - spent[period]));
  }
  return remaining;
}

/**
 * What requests cost, and the keys' budgets: prices each request that ended from its usage, adds it to its
 * key's day and month (in Redis when configured, so every instance sees it), and admits a request of a key
 * with a budget only when its estimated cost fits beside what is spent and what the key's requests in
 * flight hold (see `reservation.ts`). Like the token limits, budgets fail open: when the store cannot be
 * reached, the request passes and `gateway_rate_limit_fail_open_total` counts it.
 */
export class Spend {
  /** Replaced on a reload, with the config it was built from. */
  prices: PriceList;
  readonly now: () => number;
  readonly store: BudgetStore;
  private readonly metrics: GatewayMetrics;
  private readonly known = new Map<string, KnownBudget>();

  constructor(options: SpendOptions) {
    this.store = options.store;
    this.prices = options.prices;
    this.metrics = options.metrics;
    this.now = options.clock ?? Date.now;
    options.metrics.trackBudgets(() => this.remaining(this.now()));
  }

  /**
   * Prices a request that ended, counts it in the metrics, and replaces its reservation by its cost in its
   * key's spend; returns the cost in micro-dollars. Called once per request, wherever it ended.
   */
  charge(context: RequestContext): number {
    const { usage, clientKey, model, account } = context;
    if (clientKey === undefined) return 0;
    let micros = 0;
    if (usage !== undefined && model !== undefined && account !== undefined) {
      const price = this.prices.priceOf(model, account.pool.name);
      const cost = price === undefined ? NO_COST : requestCost(usage, price, imagesIn(usage));
      this.metrics.requestCost(model, clientKey.name, account.name, cost.micros, cost.savedMicros);
      micros = cost.micros;
    }
    this.settle(context, clientKey, micros);
    return micros;
  }

  /**
   * Before the body is read: refuses a request of a key whose budget this instance knows to be spent, so
   * that it costs no upload and no round trip. The reservation, once the body is read, decides the rest.
   */
  refuseSpent(client: ClientKey): GatewayError | undefined {
    const own = this.spentOf(client.name, `key '${client.name}'`, budgetOf(client.config.limits));
    if (own !== undefined || client.teamLimits === undefined) return own;
    const team = teamBudget(client);
    return team === undefined ? undefined : this.spentOf(team.storeName, team.who, team.limits);
  }

  private spentOf(storeName: string, who: string, budget: BudgetLimits | undefined): GatewayError | undefined {
    const known = this.known.get(storeName);
    if (known === undefined || budget === undefined) return undefined;
    // The budget in force: a reload may have raised it since the store last answered.
    known.limits = budget;
    const now = this.now();
    this.roll(known, now);
    let exhausted: BudgetPeriod | undefined;
    // When both are spent, the month decides when the key may spend again.
    for (const period of BUDGET_PERIODS) {
      const limit = known.limits[period];
      if (limit !== undefined && known.spent[period] >= limit) exhausted = period;
    }
    return exhausted === undefined ? undefined : budgetSpent(who, exhausted, known.limits[exhausted]!, known.spent[exhausted], now);
  }

  /**
   * Once the body is parsed: reserves the request's estimated cost against its key's budgets, or refuses it
   * (429 `insufficient_quota`); resolves with the header that tells what is left. A key without a budget is
   * decided at once: `undefined`, no promise.
   */
  reserve(context: RequestContext, body: unknown, promptBytes: number): Promise<Record<string, string> | undefined> | undefined {
    const client = context.clientKey;
    if (client === undefined || (client.teamLimits === undefined && client.config.limits === undefined)) return undefined;
    const subjects = budgetsOf(client);
    if (subjects.length === 0) return undefined;
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const price = this.prices.priceFor(fields.model);
    const work = this.reserveBudgeted(subjects, subjects.map((s) => budgetReservation(price, s.config, body, promptBytes)), context, this.now());
    // A request that ends meanwhile (its client left) settles what this leaves, rather than leak it.
    const done = (): void => {
      if (context.budgetReserving === reserving) context.budgetReserving = undefined;
    };
    const reserving: Promise<void> = work.then(done, done);
    context.budgetReserving = reserving;
    return work;
  }

  /**
   * The header of what is left of a key's budget as this instance last knew it, without asking the store:
   * for the responses of requests that are not admitted against the budget (`GET /v1/models`, say).
   */
  knownRemaining(keyName: string): Record<string, string> | undefined {
    const known = this.known.get(keyName);
    if (known === undefined) return undefined;
    this.roll(known, this.now());
    const remaining = leastLeft(known.limits, known.spent);
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

  /**
   * Holds the request's estimated cost against each budget at once (one write to Redis); admits it only
   * when every one has room, and gives back what the others held when one refuses.
   */
  private async reserveBudgeted(subjects: BudgetSubject[], micros: number[], context: RequestContext, now: number): Promise<Record<string, string> | undefined> {
    const decisions = await Promise.all(
      subjects.map((s, i) =>
        this.store.reserve(s.storeName, s.limits, micros[i]!, now).catch(() => {
          this.metrics.rateLimitFailOpen();
          return undefined;
        }),
      ),
    );
    let refusal: GatewayError | undefined;
    let left = Infinity;
    decisions.forEach((decision, i) => {
      const subject = subjects[i]!;
      if (decision === undefined) return;
      this.known.set(subject.storeName, { limits: subject.limits, spent: { ...decision.spent }, day: windowIndex('day', now), month: windowIndex('month', now) });
      if (!decision.allowed) refusal ??= budgetRefused(subject.who, subject.limits, decision, micros[i]!, now);
      else {
        context[subject.slot] = micros[i]!;
        left = Math.min(left, leastLeft(subject.limits, decision.spent));
      }
    });
    if (refusal !== undefined) {
      for (const subject of subjects) this.giveBack(context, subject.slot, subject.storeName, 0, now);
      throw refusal;
    }
    return left === Infinity ? undefined : { [BUDGET_HEADER]: formatUsd(left) };
  }

  /** Replaces the request's reservations (once they are decided) by its cost, `micros`, in its key's and its team's spend. */
  private settle(context: RequestContext, client: ClientKey, micros: number): void {
    const reserving = context.budgetReserving;
    if (reserving !== undefined) {
      context.budgetReserving = undefined;
      void reserving.then(() => this.settle(context, client, micros));
      return;
    }
    const now = this.now();
    this.giveBack(context, 'budgetReservation', client.name, micros, now);
    if (client.teamLimits === undefined) return;
    const team = teamBudget(client);
    if (team !== undefined) this.giveBack(context, 'teamBudgetReservation', team.storeName, micros, now);
  }

  /** Replaces what a request holds in `slot` by `micros` in the spend kept under `storeName`. */
  private giveBack(context: RequestContext, slot: BudgetSubject['slot'], storeName: string, micros: number, now: number): void {
    const reserved = context[slot] ?? 0;
    context[slot] = undefined;
    if (micros <= 0 && reserved <= 0) return;
    this.store.settle(storeName, reserved, micros, now);
    const known = this.known.get(storeName);
    if (known !== undefined && micros > 0) {
      this.roll(known, now);
      known.spent.day += micros;
      known.spent.month += micros;
    }
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
      // Teams' budgets are not keys': the metric's `clientKey` label names keys only.
      if (clientKey.startsWith('team:')) continue;
      this.roll(known, now);
      for (const period of BUDGET_PERIODS) {
        const limit = known.limits[period];
        if (limit !== undefined) yield { clientKey, period, micros: Math.max(0, limit - known.spent[period]) };
      }
    }
  }
}
