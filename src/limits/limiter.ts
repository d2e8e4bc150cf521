/**
 * Per-key request and token limits over fixed windows: the calendar minute and the UTC day.
 *
 * Fixed windows (rather than sliding ones) keep each check to a couple of counters per key, shared
 * across instances in one Redis round trip, and make `reset` an exact, easy-to-explain time. The price is
 * that a client may spend up to twice a minute's allowance across a minute boundary.
 *
 * A token window that ends over its limit (requests used more than they reserved) does not start the next
 * one at zero: the excess is carried over, less one window's allowance for each window that passed, so the
 * key pays back what it overran before it is admitted again (see {@link carriedOver}).
 */

import { DAY_MS, dayWindow, MINUTE_MS, minuteWindow } from '../time-windows.js';

export interface KeyLimits {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
  tokensPerDay?: number | undefined;
  /** Tokens held back for a request's answer when its body names no `max_tokens` (see `reservation.ts`). */
  reserveTokens?: number | undefined;
}

/** Counts already spent in the current windows, before the request being admitted. */
export interface WindowCounts {
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
}

export interface LimitStatus {
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface Admission {
  allowed: boolean;
  /** Set when refused: which limit was hit. */
  exceeded: 'requests' | 'tokens' | undefined;
  requests: LimitStatus | undefined;
  /** The binding token limit: per minute if set, else per day. */
  tokens: LimitStatus | undefined;
  /** Milliseconds until the binding window resets, when refused. */
  retryAfterMs: number;
  /** The minute window the decision was made in (by the store's clock): a reservation lives there. */
  minute: number;
}


/**
 * What a token window that held `tokens` leaves to the window `elapsed` windows later: the excess over
 * `limit` per window passed. Nothing without a limit, or when the clock went back.
 */
export function carriedOver(tokens: number, limit: number | undefined, elapsed: number): number {
  if (limit === undefined || limit <= 0 || elapsed <= 0) return 0;
  return Math.max(0, tokens - elapsed * limit);
}

/** When a token window holding `tokens` over `limit` has room again: the start of the window where its carry is under the limit. */
function paidBackMs(tokens: number, limit: number, window: number, windowMs: number, now: number): number {
  return (window + Math.floor(tokens / limit)) * windowMs - now;
}

/**
 * Decides on one request from the counts before it. A request is counted only when allowed; the token
 * limits refuse new requests once the window's tokens (spent, and reserved by requests still running) are
 * gone. A request's own reservation is not weighed against the limit, so a request larger than a whole
 * window's allowance still passes when the window is fresh: a window overshoots by at most one request.
 */
export function decide(limits: KeyLimits, counts: WindowCounts, now: number): Admission {
  const minuteResetMs = (minuteWindow(now) + 1) * MINUTE_MS - now;
  const dayResetMs = (dayWindow(now) + 1) * DAY_MS - now;

  let exceeded: Admission['exceeded'];
  let retryAfterMs = 0;
  const { requestsPerMinute, tokensPerMinute, tokensPerDay } = limits;
  if (requestsPerMinute !== undefined && counts.requestsThisMinute >= requestsPerMinute) {
    exceeded = 'requests';
    retryAfterMs = minuteResetMs;
  }
  // A window over its limit has room again once its excess is paid back, a limit's worth per window.
  if (tokensPerDay !== undefined && counts.tokensToday >= tokensPerDay) {
    exceeded = 'tokens';
    retryAfterMs = Math.max(retryAfterMs, paidBackMs(counts.tokensToday, tokensPerDay, dayWindow(now), DAY_MS, now));
  } else if (tokensPerMinute !== undefined && counts.tokensThisMinute >= tokensPerMinute) {
    exceeded = 'tokens';
    retryAfterMs = Math.max(retryAfterMs, paidBackMs(counts.tokensThisMinute, tokensPerMinute, minuteWindow(now), MINUTE_MS, now));
  }
  const allowed = exceeded === undefined;
  const requestsUsed = counts.requestsThisMinute + (allowed ? 1 : 0);

  return {
    allowed,
    exceeded,
    retryAfterMs,
    minute: minuteWindow(now),
    requests:
      requestsPerMinute === undefined
        ? undefined
        : { limit: requestsPerMinute, remaining: Math.max(0, requestsPerMinute - requestsUsed), resetMs: minuteResetMs },
    tokens: bindingTokenStatus(limits, counts, minuteResetMs, dayResetMs),
  };
}

function bindingTokenStatus(limits: KeyLimits, counts: WindowCounts, minuteResetMs: number, dayResetMs: number): LimitStatus | undefined {
  const minute =
    limits.tokensPerMinute === undefined
      ? undefined
      : { limit: limits.tokensPerMinute, remaining: Math.max(0, limits.tokensPerMinute - counts.tokensThisMinute), resetMs: minuteResetMs };
  const day =
    limits.tokensPerDay === undefined
      ? undefined
      : { limit: limits.tokensPerDay, remaining: Math.max(0, limits.tokensPerDay - counts.tokensToday), resetMs: dayResetMs };
  if (minute === undefined) return day;
  if (day === undefined) return minute;
  return day.remaining < minute.remaining ? day : minute;
}

export function hasLimits(limits: KeyLimits | undefined): limits is KeyLimits {
  return limits !== undefined && (limits.requestsPerMinute !== undefined || limits.tokensPerMinute !== undefined || limits.tokensPerDay !== undefined);
}

/** Tokens held for a running request: how many, and the minute window (by the store's clock) they are in. */
export interface TokenReservation {
  tokens: number;
  minute: number;
}

/** Where counts live: this process, or Redis shared by every instance. */
export interface LimitStore {
  /**
   * Reads the key's counts and, if `decide` allows, counts the request and adds `reserve` tokens to its
   * windows: atomically. The admission's `minute` is where the reservation went.
   */
  admit(keyName: string, limits: KeyLimits, now: number, reserve: number): Promise<Admission>;
  /**
   * Replaces a reservation by `tokens` in the current windows. When that is more than `reservation` it is
   * decided like an admission (the window's tokens without this reservation must not be spent yet), and a
   * refusal changes nothing.
   */
  adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number, now: number): Promise<Admission>;
  /** Takes a reservation back out of its windows and adds the tokens the request really used to the current ones. */
  settle(keyName: string, reservation: TokenReservation, used: number, now: number): Promise<void>;
  /** Counts a request of a key without limits; nothing is decided, and a shared store may write it later. */
  count(keyName: string, now: number): void;
  /**
   * Adds a finished request's tokens. With `exact` false (a key without limits) a shared store may add them
   * up and write them a moment later; the key's counts in /admin/usage then lag by that moment.
   */
  addTokens(keyName: string, tokens: number, now: number, exact?: boolean): Promise<void>;
  counts(keyName: string, now: number): Promise<WindowCounts>;
  /** Writes whatever the store still holds back. */
  close(): Promise<void>;
}

interface MemoryCounts {
  minute: number;
  day: number;
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
  /** The part of each window's tokens that earlier windows carried over (see {@link carriedOver}). */
  minuteCarry: number;
  dayCarry: number;
  /** The token limits of the key's last admission: what a window that ends over them carries over. */
  limits: KeyLimits;
}

/** Counts in this process: for a single instance, or while Redis is away. */
export class MemoryLimitStore implements LimitStore {
  private readonly byKey = new Map<string, MemoryCounts>();

  async admit(keyName: string, limits: KeyLimits, now: number, reserve: number): Promise<Admission> {
    const counts = this.current(keyName, now);
    counts.limits = limits;
    const admission = decide(limits, counts, now);
    if (admission.allowed) {
      counts.requestsThisMinute++;
      add(counts, reserve);
    }
    return admission;
  }

  async adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number, now: number): Promise<Admission> {
    const counts = this.current(keyName, now);
    counts.limits = limits;
    const without = this.withoutReservation(counts, reservation);
    const admission = decide({ ...limits, requestsPerMinute: undefined }, without, now);
    if (tokens <= reservation.tokens || admission.allowed) {
      Object.assign(counts, without);
      add(counts, tokens);
      return { ...admission, allowed: true, exceeded: undefined, retryAfterMs: 0 };
    }
    return admission;
  }

  async settle(keyName: string, reservation: TokenReservation, used: number, now: number): Promise<void> {
    const counts = this.current(keyName, now);
    Object.assign(counts, this.withoutReservation(counts, reservation));
    add(counts, used);
  }

  count(keyName: string, now: number): void {
    this.current(keyName, now).requestsThisMinute++;
  }

  async addTokens(keyName: string, tokens: number, now: number): Promise<void> {
    add(this.current(keyName, now), tokens);
  }

  async counts(keyName: string, now: number): Promise<WindowCounts> {
    const { requestsThisMinute, tokensThisMinute, tokensToday } = this.current(keyName, now);
    return { requestsThisMinute, tokensThisMinute, tokensToday };
  }

  async close(): Promise<void> {}

  /**
   * The counts with a reservation taken out of the windows that still hold it, or, made in an earlier
   * window, out of what that window carried over: at most the part of the carry it made (the carry less the
   * reservation, floored at 0, is what its window would have carried without it).
   */
  private withoutReservation(counts: MemoryCounts, reservation: TokenReservation): MemoryCounts {
    const minuteCarried = reservation.minute === counts.minute ? 0 : Math.min(counts.minuteCarry, reservation.tokens);
    const inMinute = reservation.minute === counts.minute ? reservation.tokens : minuteCarried;
    const sameDay = dayWindow(reservation.minute * MINUTE_MS) === counts.day;
    const dayCarried = sameDay ? 0 : Math.min(counts.dayCarry, reservation.tokens);
    const inDay = sameDay ? reservation.tokens : dayCarried;
    return {
      ...counts,
      tokensThisMinute: Math.max(0, counts.tokensThisMinute - inMinute),
      tokensToday: Math.max(0, counts.tokensToday - inDay),
      minuteCarry: counts.minuteCarry - minuteCarried,
      dayCarry: counts.dayCarry - dayCarried,
    };
  }

  /**
   * The key's counts, with windows that have passed started afresh but for what they carry over. Keys are
   * config names, so the map is bounded.
   */
  private current(keyName: string, now: number): MemoryCounts {
    const minute = minuteWindow(now);
    const day = dayWindow(now);
    let counts = this.byKey.get(keyName);
    if (counts === undefined) {
      counts = { minute, day, requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0, minuteCarry: 0, dayCarry: 0, limits: {} };
      this.byKey.set(keyName, counts);
    }
    if (counts.minute !== minute) {
      counts.minuteCarry = carriedOver(counts.tokensThisMinute, counts.limits.tokensPerMinute, minute - counts.minute);
      counts.minute = minute;
      counts.requestsThisMinute = 0;
      counts.tokensThisMinute = counts.minuteCarry;
    }
    if (counts.day !== day) {
      counts.dayCarry = carriedOver(counts.tokensToday, counts.limits.tokensPerDay, day - counts.day);
      counts.day = day;
      counts.tokensToday = counts.dayCarry;
    }
    return counts;
  }
}

function add(counts: WindowCounts, tokens: number): void {
  counts.tokensThisMinute += tokens;
  counts.tokensToday += tokens;
}
