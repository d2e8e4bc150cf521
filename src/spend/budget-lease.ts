import type { BudgetLimits, Spent } from './budget-store.js';
import { BUDGET_PERIODS } from './windows.js';
import { dayWindow, monthWindow } from '../time-windows.js';

/** Costs taken out of a lease to be written, and what they free of its hold. */
export interface Written {
  micros: number;
  released: number;
}

/**
 * What one instance holds of a key's budgets in Redis (`limits.admission: lease`), held like its requests'
 * reservations (the instance's field of the key's held hash, under the 60 s hold lease) and handed to the
 * key's requests without asking Redis. All it holds is in `held`: the room not handed out, what running
 * requests reserve (`carved`), and what ended requests cost and is not written yet (`consumed`), which is
 * written to the day and month it was spent in and taken off `held` in the same script.
 */
export class BudgetLease {
  held = 0;
  carved = 0;
  consumed = 0;
  /** The windows `consumed` was spent in. */
  consumedDay = 0;
  consumedMonth = 0;
  /** The key's spend as this instance knows it: Redis's at the last call, plus what ended here since. */
  readonly spent: Spent = { day: 0, month: 0 };
  private spentDay = 0;
  private spentMonth = 0;
  /** What the other instances held at the last call: refusals name it. */
  others = 0;
  /** The last grant: the lease is renewed once less than half of it is left. */
  granted = 0;
  /** Calls of this lease on their way to Redis: while any is, what it holds is not rewritten whole. */
  busy = 0;
  /** A grant on its way to Redis. */
  renewing: Promise<void> | undefined;
  /** Whether a request was admitted since the last renewal of the hold: an idle lease gives its room back. */
  used = false;

  constructor(public limits: BudgetLimits) {}

  get room(): number {
    return this.held - this.carved - this.consumed;
  }

  get low(): boolean {
    return this.room < this.granted / 2;
  }

  /** Whether a reservation of `micros` can be admitted here: no budget is spent, and it fits the room. */
  fits(limits: BudgetLimits, micros: number, now: number): boolean {
    if (limits.day !== this.limits.day || limits.month !== this.limits.month) return false;
    this.roll(now);
    for (const period of BUDGET_PERIODS) {
      const limit = limits[period];
      if (limit !== undefined && this.spent[period] >= limit) return false;
    }
    return micros <= this.room;
  }

  take(micros: number): void {
    this.carved += micros;
    this.used = true;
  }

  /** A request ends: its reservation comes back, its cost is held until written (in the windows of `now`). */
  settle(reserved: number, micros: number, now: number): void {
    this.roll(now);
    this.carved -= reserved;
    this.consumed += micros;
    this.consumedDay = dayWindow(now);
    this.consumedMonth = monthWindow(now);
    this.spent.day += micros;
    this.spent.month += micros;
  }

  /**
   * Takes the costs to write out of the lease, and what they free of its hold: all of them while the lease
   * holds them, less what running requests still need when costs passed their reservations (and nothing for
   * a key without a budget, whose lease holds nothing). Redis takes the same off its hold as it adds them.
   */
  takeConsumed(): Written {
    const micros = this.consumed;
    const released = Math.max(0, Math.min(micros, this.held - this.carved));
    this.consumed = 0;
    this.held -= released;
    return { micros, released };
  }

  /** Puts back costs whose write did not reach Redis. */
  restore(written: Written): void {
    this.consumed += written.micros;
    this.held += written.released;
  }

  /** Nothing held, running or to write: the lease can be forgotten. */
  get empty(): boolean {
    return this.held <= 0 && this.carved <= 0 && this.consumed === 0 && this.busy === 0 && this.renewing === undefined;
  }

  /** Redis's answer: the spend in the windows of `now`, plus what is still to be written of them. */
  known(spent: Spent, others: number, now: number): void {
    this.roll(now);
    const pending = this.consumedDay === this.spentDay && this.consumedMonth === this.spentMonth ? this.consumed : 0;
    this.spent.day = spent.day + pending;
    this.spent.month = spent.month + pending;
    this.others = others;
  }

  /** Starts the spend of windows that have passed afresh. */
  private roll(now: number): void {
    const day = dayWindow(now);
    const month = monthWindow(now);
    if (day !== this.spentDay) {
      this.spentDay = day;
      this.spent.day = 0;
    }
    if (month !== this.spentMonth) {
      this.spentMonth = month;
      this.spent.month = 0;
    }
  }
}
