import { GatewayError } from '../errors.js';
import { MINUTE_MS, minuteWindow } from '../time-windows.js';

/** Failed admin or console sign-ins allowed per client address in a minute; the next is refused with 429. */
export const FAILURES_PER_MINUTE = 10;
/** Addresses tracked at most: past it the oldest window is dropped, so a flood of addresses costs bounded memory. */
const MAX_ADDRESSES = 10_000;

/** Counts failed admin authentications per client address over fixed minutes, in memory (per instance). */
export class FailedAttempts {
  private readonly windows = new Map<string, { minute: number; failures: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds until the address may try again, or 0 when it may now. */
  blockedFor(address: string): number {
    const window = this.windows.get(address);
    const minute = minuteWindow(this.now());
    if (window === undefined || window.minute !== minute || window.failures < FAILURES_PER_MINUTE) return 0;
    return Math.max(1, Math.ceil(((minute + 1) * MINUTE_MS - this.now()) / 1_000));
  }

  /** Throws 429, with `Retry-After`, when the address has failed too often this minute. */
  refuseIfBlocked(address: string): void {
    const retryAfter = this.blockedFor(address);
    if (retryAfter === 0) return;
    throw new GatewayError(429, 'rate_limit_error', 'Too many failed admin authentications from this address; try again later.', {
      code: 'too_many_failed_attempts',
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  failed(address: string): void {
    const minute = minuteWindow(this.now());
    const window = this.windows.get(address);
    if (window !== undefined && window.minute === minute) {
      window.failures++;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= MAX_ADDRESSES) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(address, { minute, failures: 1 });
  }
}
