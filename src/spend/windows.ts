import { DAY_MS, dayWindow, monthWindow } from '../time-windows.js';

/** The windows budgets are counted in: the UTC day and the UTC calendar month. */
export type BudgetPeriod = 'day' | 'month';

export const BUDGET_PERIODS: readonly BudgetPeriod[] = ['day', 'month'];


export const windowIndex = (period: BudgetPeriod, now: number): number => (period === 'day' ? dayWindow(now) : monthWindow(now));

/** Epoch ms at which the window holding `now` ends (and the next begins). */
export function windowEnd(period: BudgetPeriod, now: number): number {
  if (period === 'day') return (dayWindow(now) + 1) * DAY_MS;
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}
