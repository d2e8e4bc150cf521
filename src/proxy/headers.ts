// The headers that cross the gateway: which of the client's go upstream, which of the upstream's come back.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { SecretScrubber } from './scrub.js';

/**
 * Upstream response headers a client may see (docs/robustness.md lists them), each value scrubbed of the
 * accounts' secrets; everything else (cookies, `openai-organization` and `openai-project`, which name the
 * account, whatever a proxy in front of the upstream adds) stays here. The upstream's `x-request-id` goes
 * back as it is (unless it quotes a secret), so an SDK's `_request_id` names the provider's record.
 */
const PASSED_HEADERS: ReadonlySet<string> = new Set(['content-type', 'openai-processing-ms', 'openai-version', 'retry-after', 'retry-after-ms', 'x-request-id', 'request-id']);
/** The upstream's rate limits (the account's), OpenAI's and Anthropic's, passed unless the gateway set the client's own. */
const RATE_LIMIT_PREFIX = 'x-ratelimit-';
const ANTHROPIC_RATE_LIMIT_PREFIX = 'anthropic-ratelimit-';

/**
 * Client headers that go upstream unchanged: Codex's and the Agents SDK's session and beta headers (the
 * upstream routes and caches on them), and the conversation id (an upstream that is itself such a gateway
 * routes on it too). Nothing else: never the client's `authorization`, cookies or `accept-encoding` (a
 * compressed answer would hide its usage from the gateway).
 */
const FORWARDED_HEADERS = ['openai-beta', 'session_id', 'session-id', 'thread-id', 'originator', 'x-conversation-id'] as const;
/**
 * What an Anthropic upstream is sent besides: the API version and beta features the client asked for, unchanged
 * (Claude Code relies on its betas), and Claude Code's session id.
 */
const ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta', 'x-claude-code-session-id'] as const;
/** The API version an Anthropic upstream requires, for a client that named none. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** The headers of every attempt of this request, before the account's own are added. */
export function forwardedHeaders(request: FastifyRequest, contentType: string | undefined, api: 'openai' | 'anthropic' = 'openai'): Record<string, string> {
  const incoming = request.headers;
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  copyPresent(incoming, FORWARDED_HEADERS, headers);
  if (api === 'anthropic') {
    headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
    copyPresent(incoming, ANTHROPIC_HEADERS, headers);
  }
  // The client's own id for its request when it sent one, else the gateway's (its X-Request-Id, or one made).
  const clientRequestId = incoming['x-client-request-id'];
  headers['x-client-request-id'] = typeof clientRequestId === 'string' && clientRequestId !== '' ? clientRequestId : request.id;
  return headers;
}

function copyPresent(incoming: FastifyRequest['headers'], names: readonly string[], headers: Record<string, string>): void {
  for (const name of names) {
    const value = incoming[name];
    if (typeof value === 'string' && value !== '') headers[name] = value;
  }
}

/** The first value of an upstream response header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Copies the upstream headers a client may see onto its reply, secrets masked. A header the gateway has set
 * already keeps its value; so do the gateway's `x-ratelimit-*` headers of a client key with limits, which
 * are not mixed with the account's.
 */
export function copyHeaders(reply: FastifyReply, headers: IncomingHttpHeaders, scrubber: SecretScrubber): void {
  const ownLimits = reply.hasHeader('x-ratelimit-limit-requests') || reply.hasHeader('x-ratelimit-limit-tokens');
  for (const name in headers) {
    const rateLimit = name.startsWith(RATE_LIMIT_PREFIX) || name.startsWith(ANTHROPIC_RATE_LIMIT_PREFIX);
    if (!(PASSED_HEADERS.has(name) || (!ownLimits && rateLimit)) || reply.hasHeader(name)) continue;
    const value = header(headers, name);
    if (value !== undefined) reply.header(name, scrubber.maskText(value));
  }
}
