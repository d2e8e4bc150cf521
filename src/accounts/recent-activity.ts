import { minuteWindow } from '../time-windows.js';

/** How far back "recent" reaches, in minutes. */
export const RECENT_MINUTES = 15;

/** Requests and errors of one account over the last few minutes, in one-minute buckets (a fixed ring: no growth). */
export class RecentActivity {
  private readonly minutes = new Float64Array(RECENT_MINUTES).fill(-1);
  private readonly requests = new Uint32Array(RECENT_MINUTES);
  private readonly errors = new Uint32Array(RECENT_MINUTES);

  /** An attempt sent to the account. */
  attempt(now: number): void {
    this.requests[this.slot(now)]!++;
  }

  /** An attempt that failed (unreachable, a timeout, an error answer that rests the account or a model). */
  failure(now: number): void {
    this.errors[this.slot(now)]!++;
  }

  /** Totals over the last RECENT_MINUTES minutes. */
  totals(now: number): { requests: number; errors: number } {
    const oldest = minuteWindow(now) - RECENT_MINUTES + 1;
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < RECENT_MINUTES; i++) {
      if (this.minutes[i]! < oldest) continue;
      requests += this.requests[i]!;
      errors += this.errors[i]!;
    }
    return { requests, errors };
  }

  private slot(now: number): number {
    const minute = minuteWindow(now);
    const slot = minute % RECENT_MINUTES;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.requests[slot] = 0;
      this.errors[slot] = 0;
    }
    return slot;
  }
}
