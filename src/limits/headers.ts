import type { Admission } from './limiter.js';

/** A duration the way OpenAI writes its reset headers: `20ms`, `1.5s`, `6m0s`, `1h2m3s`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${Math.round(totalSeconds * 1000) / 1000}s`;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Math.ceil(totalSeconds % 60);
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}

/** OpenAI's `x-ratelimit-*` family, so clients and SDKs can pace themselves. */
export function rateLimitHeaders(admission: Admission): Record<string, string> {
  const headers: Record<string, string> = {};
  if (admission.requests !== undefined) {
    headers['x-ratelimit-limit-requests'] = String(admission.requests.limit);
    headers['x-ratelimit-remaining-requests'] = String(admission.requests.remaining);
    headers['x-ratelimit-reset-requests'] = formatReset(admission.requests.resetMs);
  }
  if (admission.tokens !== undefined) {
    headers['x-ratelimit-limit-tokens'] = String(admission.tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(admission.tokens.remaining);
    headers['x-ratelimit-reset-tokens'] = formatReset(admission.tokens.resetMs);
  }
  if (!admission.allowed) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.ceil(admission.retryAfterMs));
  }
  return headers;
}
