/** The windows budgets are counted in: the UTC day and the UTC calendar month. */
export type BudgetPeriod = 'day' | 'month';

export const BUDGET_PERIODS: readonly BudgetPeriod[] = ['day', 'month'];

const DAY_MS = 86_400_000;

/** Days since the epoch: each starts at midnight UTC. */
export const dayIndex = (now: number): number => Math.floor(now / DAY_MS);

/** Months since January 1970, UTC. */
export function monthIndex(now: number): number {
  const date = new Date(now);
  return date.getUTCFullYear() * 12 + date.getUTCMonth() - 1970 * 12;
}

export const windowIndex = (period: BudgetPeriod, now: number): number => (period === 'day' ? dayIndex(now) : monthIndex(now));

/** Epoch ms at which the window holding `now` ends (and the next begins). */
export function windowEnd(period: BudgetPeriod, now: number): number {
  if (period === 'day') return (dayIndex(now) + 1) * DAY_MS;
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}
