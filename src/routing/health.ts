import type { Account } from './pool.js';

export type FailureReason = 'rate_limited' | 'server_error' | 'unreachable' | 'bad_key' | 'timeout';

export interface HealthOptions {
  /** Rest after a 429, 5xx or unreachable upstream, when the upstream gives no Retry-After. */
  cooldownMs: number;
  /** Rest after a 401 or 403: the key itself is bad, so it will not heal soon. */
  badKeyCooldownMs: number;
}

/** Why an upstream status makes the account rest and the request move on, or undefined for the client's own errors. */
export function failureForStatus(status: number): FailureReason | undefined {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'bad_key';
  if (status >= 500) return 'server_error';
  return undefined;
}

/** Rests an account; returns how long, in ms. Retry-After is honoured as seconds or an HTTP date. */
export function coolDown(account: Account, reason: FailureReason, now: number, options: HealthOptions, retryAfter?: string): number {
  let ms = reason === 'bad_key' ? options.badKeyCooldownMs : options.cooldownMs;
  if (retryAfter !== undefined && reason !== 'bad_key') ms = parseRetryAfter(retryAfter, now) ?? ms;
  account.coolingUntil = Math.max(account.coolingUntil, now + ms);
  return ms;
}

export function parseRetryAfter(value: string, now: number): number | undefined {
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
