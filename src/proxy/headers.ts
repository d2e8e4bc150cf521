// The headers that cross the gateway: which of the client's go upstream, which of the upstream's come back.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Upstream response headers a client may see; everything else (cookies, the upstream's own rate limits) stays
 * here. The upstream's `x-request-id` goes back unchanged, so an SDK's `_request_id` names the provider's record.
 */
const PASSED_HEADERS = ['content-type', 'openai-processing-ms', 'retry-after', 'x-request-id'] as const;

/**
 * Client headers that go upstream unchanged: Codex's and the Agents SDK's session and beta headers (the
 * upstream routes and caches on them), and the conversation id (an upstream that is itself such a gateway
 * routes on it too). Nothing else: never the client's `authorization`, cookies or `accept-encoding` (a
 * compressed answer would hide its usage from the gateway).
 */
const FORWARDED_HEADERS = ['openai-beta', 'session_id', 'session-id', 'thread-id', 'originator', 'x-conversation-id'] as const;

/** The headers of every attempt of this request, before the account's own are added. */
export function forwardedHeaders(request: FastifyRequest, contentType: string | undefined): Record<string, string> {
  const incoming = request.headers;
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  for (const name of FORWARDED_HEADERS) {
    const value = incoming[name];
    if (typeof value === 'string' && value !== '') headers[name] = value;
  }
  // The client's own id for its request when it sent one, else the gateway's (its X-Request-Id, or one made).
  const clientRequestId = incoming['x-client-request-id'];
  headers['x-client-request-id'] = typeof clientRequestId === 'string' && clientRequestId !== '' ? clientRequestId : request.id;
  return headers;
}

/** The first value of an upstream response header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Copies the upstream headers a client may see onto its reply. */
export function copyHeaders(reply: FastifyReply, headers: IncomingHttpHeaders): void {
  for (const name of PASSED_HEADERS) {
    const value = header(headers, name);
    if (value !== undefined) reply.header(name, value);
  }
}
