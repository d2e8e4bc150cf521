import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Forwarder, ForwardTarget } from '../proxy/forward.js';
import type { Account } from './pool.js';
import type { AccountSelector } from './selector.js';

export type UpstreamCall = ForwardTarget & {
  /** The conversation the request belongs to, for sticky routing. */
  conversationId: string | undefined;
  /** The account the request must go to (it holds a stored response); otherwise the selector chooses. */
  bound?: Account | undefined;
};

/**
 * What every endpoint does once a request is checked: choose its account (sticky or by weight) and forward
 * it. The call is forwarded as it is (its extra fields unread): copying it without them cost about 2 µs.
 */
export async function selectAndForward(
  selector: AccountSelector,
  forwarder: Forwarder,
  request: FastifyRequest,
  reply: FastifyReply,
  call: UpstreamCall,
): Promise<FastifyReply> {
  if (call.bound !== undefined) return forwarder.forward(request, reply, call, call.bound, undefined, true);
  const { account, onServed } = await selector.select(call.pool, request.gateway.clientKey, call.conversationId, request.gateway.pinLookup);
  return forwarder.forward(request, reply, call, account, onServed);
}
