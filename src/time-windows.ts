// The fixed windows limits, budgets, the ledger and the console count in: the minute, the UTC day and the UTC
// calendar month, each numbered from the epoch.

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** Minutes since the epoch. */
export const minuteWindow = (now: number): number => Math.floor(now / MINUTE_MS);

/** Days since the epoch: each starts at midnight UTC. */
export const dayWindow = (now: number): number => Math.floor(now / DAY_MS);

/** The last day {@link monthWindow} was asked about, and its month: a month is a run of whole UTC days. */
let lastDay = Number.NaN;
let lastMonth = 0;

/** Months since January 1970, UTC. Asked several times per request: a Date is made once a day, not each time. */
export function monthWindow(now: number): number {
  const day = dayWindow(now);
  if (day !== lastDay) {
    const date = new Date(now);
    lastMonth = date.getUTCFullYear() * 12 + date.getUTCMonth() - 1970 * 12;
    lastDay = day;
  }
  return lastMonth;
}
