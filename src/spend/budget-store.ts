import { dayIndex, monthIndex } from './windows.js';

/** Micro-dollars a client key has spent in the current UTC day and month. */
export interface Spent {
  day: number;
  month: number;
}

/** Where each key's spend is added up: this process, or Redis shared by every instance. */
export interface BudgetStore {
  /** What the key has spent in the windows holding `now`, this instance's unwritten amounts included. */
  spent(keyName: string, now: number): Promise<Spent>;
  /** Adds a finished request's cost to the key's day and month; never fails or delays the request. */
  add(keyName: string, micros: number, now: number): void;
  /** Writes what is still held back. */
  close(): Promise<void>;
}

interface KeySpend {
  day: number;
  month: number;
  dayMicros: number;
  monthMicros: number;
}

/** Spend counted in this process: for a single instance without Redis. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly byKey = new Map<string, KeySpend>();

  async spent(keyName: string, now: number): Promise<Spent> {
    const spend = this.current(keyName, now);
    return { day: spend.dayMicros, month: spend.monthMicros };
  }

  add(keyName: string, micros: number, now: number): void {
    const spend = this.current(keyName, now);
    spend.dayMicros += micros;
    spend.monthMicros += micros;
  }

  async close(): Promise<void> {}

  /** The key's spend with windows that have passed started afresh. Keys are config names, so the map is bounded. */
  private current(keyName: string, now: number): KeySpend {
    const day = dayIndex(now);
    const month = monthIndex(now);
    let spend = this.byKey.get(keyName);
    if (spend === undefined) {
      spend = { day, month, dayMicros: 0, monthMicros: 0 };
      this.byKey.set(keyName, spend);
    }
    if (spend.day !== day) {
      spend.day = day;
      spend.dayMicros = 0;
    }
    if (spend.month !== month) {
      spend.month = month;
      spend.monthMicros = 0;
    }
    return spend;
  }
}
