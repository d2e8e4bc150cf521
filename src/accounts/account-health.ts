import type { FailureReason } from './failure-reason.js';
import type { Account } from './pool.js';


export interface HealthOptions {
  /** Rest after a 429, 5xx or unreachable upstream, when the upstream gives no Retry-After. */
  cooldownMs: number;
  /** Rest after the upstream refused the key itself (401, or 403 `invalid_api_key`/`invalid_organization`). */
  badKeyCooldownMs: number;
}

/** What an upstream error answer means for the account that gave it. */
export type Verdict =
  /** The account rests, and the request moves on to another one. */
  | { scope: 'account'; reason: FailureReason }
  /** Only this model rests on the account (the account serves the others); the request moves on. */
  | { scope: 'model'; reason: 'model_unavailable' }
  /** The client's own error (an unsupported parameter, a request too large for any account): passed on as it is. */
  | { scope: 'client' };

/** 403 codes that mean the key or its organization is refused, not one model. */
const BAD_KEY_CODES: ReadonlySet<string> = new Set(['invalid_api_key', 'invalid_organization']);
/** Error codes and types that say a request is too large for the model, whatever account sends it. */
const TOO_LARGE_CODES: ReadonlySet<string> = new Set(['context_length_exceeded', 'request_too_large', 'tokens_too_large', 'string_above_max_length']);
const TOO_LARGE_MESSAGE = /request too large|maximum context length|context[ _]length[ _]exceeded|too many tokens in (the )?request/i;

/**
 * Reads an upstream error answer (status and the start of its body). Only what the upstream says about the
 * key benches the account: a 403 or 404 about one model rests that model alone, so a tenant asking for a
 * model an account may not use cannot bench an account every other tenant shares.
 */
export function judgeUpstreamError(status: number, body: string): Verdict {
  if (status === 401) return { scope: 'account', reason: 'bad_key' };
  if (status === 403) {
    const { code } = errorFields(body);
    return code !== undefined && BAD_KEY_CODES.has(code) ? { scope: 'account', reason: 'bad_key' } : { scope: 'model', reason: 'model_unavailable' };
  }
  if (status === 404) return modelNotFound(errorFields(body)) ? { scope: 'model', reason: 'model_unavailable' } : { scope: 'client' };
  if (status === 429) return tooLarge(body) ? { scope: 'client' } : { scope: 'account', reason: 'rate_limited' };
  if (status >= 500) return { scope: 'account', reason: 'server_error' };
  return { scope: 'client' };
}

/** OpenAI's `model_not_found`, or Anthropic's `not_found_error` about the model (`"model: claude-..."`). */
function modelNotFound({ code, type, message }: { code?: string; type?: string; message?: string }): boolean {
  return code === 'model_not_found' || (type === 'not_found_error' && message?.startsWith('model:') === true);
}

function tooLarge(body: string): boolean {
  const { code, type, message } = errorFields(body);
  if ((code !== undefined && TOO_LARGE_CODES.has(code)) || (type !== undefined && TOO_LARGE_CODES.has(type))) return true;
  return message !== undefined && TOO_LARGE_MESSAGE.test(message);
}

/** `code`, `type` and `message` of OpenAI's error envelope, where they are strings. */
function errorFields(body: string): { code?: string; type?: string; message?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (error === null || typeof error !== 'object') return {};
  const { code, type, message } = error as Record<string, unknown>;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/** Rests an account; returns how long, in ms. Retry-After is honoured as seconds or an HTTP date. */
export function coolDown(account: Account, reason: FailureReason, now: number, options: HealthOptions, retryAfter?: string): number {
  const ms = cooldownFor(reason, now, options, retryAfter);
  account.coolingUntil = Math.max(account.coolingUntil, now + ms);
  account.coolingReason = reason;
  return ms;
}

/**
 * Rests one model on an account; returns how long, in ms. An account refused a model it may not use, which
 * does not heal in seconds: the model rests as long as a bad key.
 */
export function coolDownModel(account: Account, model: string, now: number, options: HealthOptions): number {
  const ms = cooldownFor('model_unavailable', now, options, undefined);
  account.coolModel(model, now + ms);
  return ms;
}

function cooldownFor(reason: FailureReason, now: number, options: HealthOptions, retryAfter: string | undefined): number {
  if (reason === 'bad_key' || reason === 'model_unavailable') return options.badKeyCooldownMs;
  return (retryAfter === undefined ? undefined : parseRetryAfter(retryAfter, now)) ?? options.cooldownMs;
}

function parseRetryAfter(value: string, now: number): number | undefined {
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
