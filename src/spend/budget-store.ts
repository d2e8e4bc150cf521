import { dayWindow, monthWindow } from '../time-windows.js';
import type { BudgetPeriod } from './windows.js';

/** Micro-dollars a client key has spent in the current UTC day and month. */
export interface Spent {
  day: number;
  month: number;
}

/** A key's budgets in micro-dollars, per period it has one for. */
export type BudgetLimits = Partial<Record<BudgetPeriod, number>>;

/** What a store decided on a reservation, and the counts it decided on. */
export interface BudgetDecision {
  allowed: boolean;
  spent: Spent;
  /** Micro-dollars held by the key's other requests in flight (on every instance) before this one. */
  held: number;
}

/**
 * Whether a reservation of `micros` fits a key's budgets: for each, the spend plus what requests in flight
 * hold plus the reservation stay within it (and a spent budget admits nothing, not even a free request).
 */
export function fits(limits: BudgetLimits, spent: Spent, held: number, micros: number): boolean {
  for (const period of ['day', 'month'] as const) {
    const limit = limits[period];
    if (limit !== undefined && (spent[period] >= limit || spent[period] + held + micros > limit)) return false;
  }
  return true;
}

/** Where each key's spend and the reservations of its requests in flight are kept: this process, or Redis shared by every instance. */
export interface BudgetStore {
  /** What the key has spent in the windows holding `now`, this instance's unwritten amounts included. */
  spent(keyName: string, now: number): Promise<Spent>;
  /** Decides, atomically with every other reservation of the key, whether `micros` fit its budgets; holds them if so. */
  reserve(keyName: string, limits: BudgetLimits, micros: number, now: number): Promise<BudgetDecision>;
  /**
   * Replaces a request's reservation of `reserved` by what it cost, `micros`, added to the key's day and
   * month. `reserved` 0: a request that held nothing (a key without a budget, or admitted while the store
   * was away). Never fails or delays the request.
   */
  settle(keyName: string, reserved: number, micros: number, now: number): void;
  /** What the key's requests in flight hold, on every instance. */
  held(keyName: string): Promise<number>;
  /** Writes what is still held back. */
  close(): Promise<void>;
}

interface KeySpend {
  day: number;
  month: number;
  dayMicros: number;
  monthMicros: number;
  /** Reserved by the key's requests in flight. */
  held: number;
}

/** Spend counted in this process: for a single instance without Redis. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly byKey = new Map<string, KeySpend>();

  async spent(keyName: string, now: number): Promise<Spent> {
    const spend = this.current(keyName, now);
    return { day: spend.dayMicros, month: spend.monthMicros };
  }

  async reserve(keyName: string, limits: BudgetLimits, micros: number, now: number): Promise<BudgetDecision> {
    const spend = this.current(keyName, now);
    const spent = { day: spend.dayMicros, month: spend.monthMicros };
    const allowed = fits(limits, spent, spend.held, micros);
    const decision = { allowed, spent, held: spend.held };
    if (allowed) spend.held += micros;
    return decision;
  }

  settle(keyName: string, reserved: number, micros: number, now: number): void {
    const spend = this.current(keyName, now);
    spend.held = Math.max(0, spend.held - reserved);
    spend.dayMicros += micros;
    spend.monthMicros += micros;
  }

  async held(keyName: string): Promise<number> {
    return this.byKey.get(keyName)?.held ?? 0;
  }

  async close(): Promise<void> {}

  /** The key's spend with windows that have passed started afresh. Keys are config names, so the map is bounded. */
  private current(keyName: string, now: number): KeySpend {
    const day = dayWindow(now);
    const month = monthWindow(now);
    let spend = this.byKey.get(keyName);
    if (spend === undefined) {
      spend = { day, month, dayMicros: 0, monthMicros: 0, held: 0 };
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
