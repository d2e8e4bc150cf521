import { GatewayError } from '../errors.js';
import type { BudgetDecision, BudgetLimits } from './budget-store.js';
import { formatUsd } from './pricing.js';
import { BUDGET_PERIODS, windowEnd, type BudgetPeriod } from './windows.js';

export const BUDGET_HEADER = 'x-gateway-budget-remaining-usd';

const FIELD: Record<BudgetPeriod, string> = { day: 'usdPerDay', month: 'usdPerMonth' };
const WINDOW: Record<BudgetPeriod, string> = { day: 'today (UTC)', month: 'this month (UTC)' };

/** 429 `insufficient_quota` until the window ends: the SDKs raise `RateLimitError`, and are told not to retry. */
function untilWindowEnds(message: string, period: BudgetPeriod, remainingMicros: number, now: number): GatewayError {
  const resetAt = windowEnd(period, now);
  const retryAfterMs = resetAt - now;
  return new GatewayError(429, 'insufficient_quota', `${message} New requests are refused until ${new Date(resetAt).toISOString()}.`, {
    code: 'insufficient_quota',
    headers: {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
      'retry-after-ms': String(retryAfterMs),
      // The budget will not come back within any retry the SDKs would make.
      'x-should-retry': 'false',
      [BUDGET_HEADER]: formatUsd(remainingMicros),
    },
  });
}

/** A key (or team: `who` is "key 'a'" or "team 'b'") whose budget for `period` is spent. */
export function budgetSpent(who: string, period: BudgetPeriod, limit: number, spent: number, now: number): GatewayError {
  return untilWindowEnds(
    `The ${who} has spent its ${FIELD[period]} budget of $${formatUsd(limit)} ($${formatUsd(spent)} ${WINDOW[period]}).`,
    period,
    0,
    now,
  );
}

/**
 * Why a reservation of `micros` did not fit: a budget spent; a request that may cost more than is left even
 * with nothing in flight (refused until the window ends, or until it asks for fewer tokens); or room that
 * the key's requests in flight hold, which comes back when they end (a short Retry-After, and the SDKs retry).
 */
export function budgetRefused(who: string, limits: BudgetLimits, decision: BudgetDecision, micros: number, now: number): GatewayError {
  const { spent, held } = decision;
  let exhausted: BudgetPeriod | undefined;
  let tooCostly: BudgetPeriod | undefined;
  let binding: BudgetPeriod = 'day';
  // When both are spent, the month decides when the key may spend again.
  for (const period of BUDGET_PERIODS) {
    const limit = limits[period];
    if (limit === undefined) continue;
    if (spent[period] >= limit) exhausted = period;
    else if (spent[period] + micros > limit) tooCostly ??= period;
    else if (spent[period] + held + micros > limit) binding = period;
  }
  if (exhausted !== undefined) return budgetSpent(who, exhausted, limits[exhausted]!, spent[exhausted], now);
  if (tooCostly !== undefined) {
    const left = limits[tooCostly]! - spent[tooCostly];
    return untilWindowEnds(
      `This request may cost up to $${formatUsd(micros)} (its prompt at the input price and its max_tokens, or the key's ` +
        `reserveTokens, at the output price), more than the ${who} has left of its ${FIELD[tooCostly]} ` +
        `budget of $${formatUsd(limits[tooCostly]!)}: $${formatUsd(left)}. Ask for fewer output tokens (max_tokens).`,
      tooCostly,
      left,
      now,
    );
  }
  const left = Math.max(0, limits[binding]! - spent[binding]);
  return new GatewayError(
    429,
    'insufficient_quota',
    `The requests of the ${who} in flight hold $${formatUsd(held)} of the $${formatUsd(left)} left of its ${FIELD[binding]} ` +
      `budget, and this request may cost up to $${formatUsd(micros)}. Retry when they have ended.`,
    { code: 'insufficient_quota', headers: { 'retry-after': '1', 'retry-after-ms': '1000', [BUDGET_HEADER]: formatUsd(left) } },
  );
}
