import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app.js';
import type { StickySource } from '../config/schema.js';
import type { EndpointDescription, JsonObject } from '../endpoints/endpoint.js';
import type { UpstreamPool } from '../routing/pool.js';

export interface UpstreamCall {
  pool: UpstreamPool;
  /** Endpoint path below the pool's base URL, such as `/chat/completions`. */
  path: string;
  payload: Buffer | string;
  stripUsageChunk: boolean;
}

/** What every endpoint does once a request is checked: choose its account (sticky or by weight) and forward it. */
export async function selectAndForward(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  body: JsonObject,
  endpoint: EndpointDescription,
  call: UpstreamCall,
): Promise<FastifyReply> {
  const conversationId = conversationOf(request, body, endpoint, services.config.sticky.sources);
  const { account, onServed } = await services.selector.select(call.pool, request.gateway.clientKey, conversationId);
  return services.forwarder.forward(request, reply, { ...call, conversationId, first: account, onServed });
}

/**
 * The conversation a request belongs to, from the first of `sources` it carries: the `X-Conversation-Id`
 * header, the body's `prompt_cache_key` (on endpoints that take one), or an agent's session header
 * (`session_id`, or `session-id`, as Codex sends it).
 */
export function conversationOf(request: FastifyRequest, body: JsonObject, endpoint: EndpointDescription, sources: readonly StickySource[]): string | undefined {
  for (const source of sources) {
    let id: string | undefined;
    if (source === 'x-conversation-id') id = headerValue(request.headers['x-conversation-id']);
    else if (source === 'session_id') id = headerValue(request.headers.session_id) ?? headerValue(request.headers['session-id']);
    else if (endpoint.affinityFields?.includes(source) === true && typeof body[source] === 'string') id = body[source] as string;
    if (id !== undefined && id !== '') return id;
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
