import { MINUTE_MS } from '../time-windows.js';
import type { KeyLimits, WindowCounts } from './limiter.js';
import type { LeaseReturn } from './lease-scripts.js';

/**
 * What one instance holds of a key's allowance in one minute (by Redis's clock): requests and tokens counted
 * in Redis's windows as if used, which this instance hands to its requests without asking Redis. Every
 * token the instance holds in that minute is in `tokens`: the room not handed out yet, what running
 * requests reserve (`carved`), and what ended requests used (`consumed`). A request that ends while its
 * minute's lease lives settles into it; one that ends later settles in Redis, like any reservation.
 */
export class KeyLease {
  /** Requests and tokens this instance holds in Redis for the minute (granted, and admitted by Redis). */
  requests = 0;
  tokens = 0;
  requestsUsed = 0;
  carved = 0;
  consumed = 0;
  /** The key's counts in Redis at the last grant, less this lease: the headers show them plus this instance's use. */
  base: WindowCounts = { requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 };
  /** The last grant's size: the lease is renewed once less than half of it is left. */
  private grantedRequests = 0;
  private grantedTokens = 0;
  /** A renewal on its way to Redis. */
  renewing: Promise<void> | undefined;

  constructor(
    readonly limits: KeyLimits,
    /** Redis's minute. */
    readonly minute: number,
    /** The gateway's clock when the minute ends, or a little before. */
    readonly expiresAt: number,
  ) {}

  private get limitsRequests(): boolean {
    return this.limits.requestsPerMinute !== undefined;
  }

  private get limitsTokens(): boolean {
    return this.limits.tokensPerMinute !== undefined || this.limits.tokensPerDay !== undefined;
  }

  /** Tokens not handed out: negative when requests used more than the lease held. */
  get room(): number {
    return this.tokens - this.carved - this.consumed;
  }

  /** Whether a request reserving `reserve` tokens can be admitted from the lease: one request and its whole reservation fit. */
  fits(reserve: number): boolean {
    if (this.limitsRequests && this.requestsUsed >= this.requests) return false;
    return this.holds(reserve);
  }

  /** Whether `tokens` more fit in the lease. */
  holds(tokens: number): boolean {
    return !this.limitsTokens || tokens <= this.room;
  }

  /** Hands one request its reservation; returns the key's counts before it, as this instance sees them. */
  take(reserve: number): WindowCounts {
    const before = this.view();
    this.requestsUsed++;
    this.carved += reserve;
    return before;
  }

  view(): WindowCounts {
    const held = this.carved + this.consumed;
    return {
      requestsThisMinute: this.base.requestsThisMinute + this.requestsUsed,
      tokensThisMinute: this.base.tokensThisMinute + held,
      tokensToday: this.base.tokensToday + held,
    };
  }

  /** Whether less than half of the last grant is left: time to take more in the background. */
  get low(): boolean {
    if (this.limitsRequests && this.requests - this.requestsUsed < this.grantedRequests / 2) return true;
    return this.limitsTokens && this.room < this.grantedTokens / 2;
  }

  /**
   * Adds what one call to Redis gave: requests it admitted (each reserving its tokens, handed out at once),
   * then the grant; `after` is the key's counts in Redis after the admissions, before the grant.
   */
  add(admitted: number, reserved: number, after: WindowCounts, grantedRequests: number, grantedTokens: number): void {
    this.requests += admitted + grantedRequests;
    this.requestsUsed += admitted;
    this.tokens += reserved + grantedTokens;
    this.carved += reserved;
    this.grantedRequests = grantedRequests;
    this.grantedTokens = grantedTokens;
    const heldBefore = this.tokens - grantedTokens;
    this.base = {
      requestsThisMinute: Math.max(0, after.requestsThisMinute - (this.requests - grantedRequests)),
      tokensThisMinute: Math.max(0, after.tokensThisMinute - heldBefore),
      tokensToday: Math.max(0, after.tokensToday - heldBefore),
    };
  }

  /** Tokens used beyond the lease, to be added to Redis's windows now: the lease then holds them. */
  takeOver(): number {
    const over = Math.max(0, -this.room);
    this.tokens += over;
    return over;
  }

  /** What giving the lease back returns to Redis: its minute, the tokens and requests it did not use, what it used beyond. */
  giveBack(): LeaseReturn {
    const room = this.room;
    return [this.minute, Math.max(0, room), Math.max(0, -room), this.requests - this.requestsUsed];
  }

  /** A reservation made in the lease's minute ends: its tokens come back, what it used stays. */
  settle(reserved: number, used: number): void {
    this.carved -= reserved;
    this.consumed += used;
  }

  /**
   * A reservation moved in Redis (grown beyond the room): it left the minute `from` and is now in `to`. The
   * lease counts what Redis holds of its minute.
   */
  moved(from: number, reserved: number, to: number, tokens: number): void {
    if (from === this.minute) {
      this.tokens -= reserved;
      this.carved -= reserved;
    }
    if (to === this.minute) {
      this.tokens += tokens;
      this.carved += tokens;
    }
  }
}

/** When a lease of Redis's `minute` ends on the gateway's clock, from a reply that left Redis at `redisNow` and was asked for at `sentAt`. */
export function leaseExpiry(minute: number, redisNow: number, sentAt: number): number {
  return sentAt + (minute + 1) * MINUTE_MS - redisNow;
}
