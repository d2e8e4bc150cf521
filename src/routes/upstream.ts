import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app.js';
import type { UpstreamPool } from '../routing/pool.js';

export interface UpstreamCall {
  pool: UpstreamPool;
  /** Endpoint path below the pool's base URL, such as `/chat/completions`. */
  path: string;
  payload: Buffer | string;
  stripUsageChunk: boolean;
}

/** What every endpoint does once a request is checked: choose its account (sticky or by weight) and forward it. */
export async function selectAndForward(services: Services, request: FastifyRequest, reply: FastifyReply, call: UpstreamCall): Promise<FastifyReply> {
  const conversationId = conversationHeader(request.headers['x-conversation-id']);
  const { account, onServed } = await services.selector.select(call.pool, request.gateway.clientKey, conversationId);
  return services.forwarder.forward(request, reply, { ...call, first: account, onServed });
}

export function conversationHeader(value: string | string[] | undefined): string | undefined {
  const id = Array.isArray(value) ? value[0] : value;
  return id === undefined || id === '' ? undefined : id;
}
