import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The response header that carries the gateway's id of a request, on every response. */
const GATEWAY_REQUEST_ID_HEADER = 'x-gateway-request-id';

/**
 * A client's `X-Request-Id` that the gateway takes as it is: 1 to 128 letters, digits and `-_.:` (UUIDs,
 * ULIDs, OpenAI's `req_...`). Anything else (longer, other characters, a repeated header) is replaced by an id
 * of the gateway's own, so that what a client sends cannot grow or break a log line.
 */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the client's `X-Request-Id` when it is acceptable, else a random UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/**
 * Returns the request id as `X-Gateway-Request-Id` on every response: set before anything else runs, so the
 * errors the gateway makes itself (401, 404, 413, 429, 502 ...) carry it too.
 */
export function registerRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(GATEWAY_REQUEST_ID_HEADER, request.id);
    done();
  });
}
