import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { StickySource } from '../config/schema.js';
import type { EndpointDescription, JsonObject } from '../endpoints/endpoint.js';
import type { ForwardTarget } from '../proxy/forward.js';
import { headerConversation } from '../routing/conversation-header.js';
import type { Account } from '../routing/pool.js';

export type UpstreamCall = Omit<ForwardTarget, 'first' | 'onServed' | 'bound'> & {
  /** The conversation the request belongs to, for sticky routing. */
  conversationId: string | undefined;
  /** The account the request must go to (it holds a stored response); otherwise the selector chooses. */
  bound?: Account | undefined;
};

/** What every endpoint does once a request is checked: choose its account (sticky or by weight) and forward it. */
export async function selectAndForward(services: Services, request: FastifyRequest, reply: FastifyReply, call: UpstreamCall): Promise<FastifyReply> {
  const { bound, conversationId, ...target } = call;
  if (bound !== undefined) return services.forwarder.forward(request, reply, { ...target, first: bound, bound: true });
  const { account, onServed } = await services.selector.select(call.pool, request.gateway.clientKey, conversationId, request.gateway.pinLookup);
  return services.forwarder.forward(request, reply, { ...target, first: account, onServed });
}

/**
 * The conversation a request belongs to, from the first of `sources` it carries: the `X-Conversation-Id`
 * header, the body's `prompt_cache_key` (on endpoints that take one), or an agent's session header
 * (`session_id`, or `session-id`, as Codex sends it).
 */
export function conversationOf(request: FastifyRequest, body: JsonObject, endpoint: EndpointDescription, sources: readonly StickySource[]): string | undefined {
  for (const source of sources) {
    const id = source === 'prompt_cache_key' ? bodyConversation(body, endpoint, source) : headerConversation(request.headers, source);
    if (id !== undefined && id !== '') return id;
  }
  return undefined;
}

/** A body field that carries the conversation, on an endpoint whose description names it. */
function bodyConversation(body: JsonObject, endpoint: EndpointDescription, field: string): string | undefined {
  const value = endpoint.affinityFields?.includes(field) === true ? body[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}
