import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { GatewayError, quoted } from '../errors.js';
import type { RequestContext } from '../request-context.js';
import { envelopeFor } from './error-envelope.js';
import { lingerOnClose } from './lingering-close.js';

/** Fastify's own errors, turned into OpenAI's envelope with a fitting status and code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json.' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'request_too_large', message: 'The request body is larger than this gateway accepts.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', message: 'The Content-Length header does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The request body is empty; send a JSON object.' },
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const context = request.gateway as RequestContext | null;
    // An upstream body that failed on its way to the client comes here as undici's error; the relay noted what it means.
    const gatewayError = (await limitsRefusal(context, reply)) ?? context?.upstreamFailure ?? toGatewayError(error);
    if (gatewayError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    if (gatewayError.headers !== undefined) reply.headers(gatewayError.headers);
    // Headers copied from an upstream response that was then abandoned must not leak into this one.
    reply.removeHeader('content-length');
    // A body refused while it is still arriving (Fastify closes the connection after such an answer): let
    // the client, still sending, read the answer before the connection goes.
    if (!request.raw.complete && reply.getHeader('connection') === 'close') lingerOnClose(request.raw.socket);
    return reply.code(gatewayError.statusCode).type('application/json; charset=utf-8').send(envelopeFor(request, gatewayError));
  });

  // Registered where no content-type parser is: the request's body, if any, is never read (Node discards it).
  app.setNotFoundHandler((request, reply) => {
    const url = quoted(request.url);
    const error = new GatewayError(404, 'invalid_request_error', `Unknown request URL: ${request.method} ${url}.`, { code: 'unknown_url' });
    return reply.code(404).send(envelopeFor(request, error));
  });
}

/**
 * The limits' refusal of a request whose admission waited for its body (src/limits/plugin.ts) and that is
 * refused before the body's checks ran: the admission is made now, so that its 429 comes first, as for
 * every key, and an admitted request counts against the key's limits as any refused one does.
 */
async function limitsRefusal(context: RequestContext | null, reply: FastifyReply): Promise<GatewayError | undefined> {
  const admit = context?.pendingAdmission;
  if (admit === undefined) return undefined;
  context!.pendingAdmission = undefined;
  try {
    const headers = await admit();
    if (headers !== undefined) reply.headers(headers);
    return undefined;
  } catch (err) {
    return err instanceof GatewayError ? err : undefined;
  }
}

function toGatewayError(error: FastifyError): GatewayError {
  if (error instanceof GatewayError) return error;
  const known = error.code === undefined ? undefined : FASTIFY_ERRORS[error.code];
  if (known !== undefined) return new GatewayError(known.status, 'invalid_request_error', known.message, { code: known.code });
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new GatewayError(status, 'invalid_request_error', error.message, { code: error.code ?? null });
  return new GatewayError(500, 'server_error', 'The gateway failed to handle this request.', { code: 'internal_error' });
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses before any route runs (broken
 * framing, oversized headers, headers not received within `timeouts.headersMs` or a request not received
 * within `timeouts.clientBodyMs`) in OpenAI's envelope rather than Fastify's own shape, then closes the
 * connection. Timeouts are counted as rejected connections.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // The response Node made once the headers were parsed: there is none while they are still arriving.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  let status = 400;
  let code = 'invalid_http_request';
  let message = 'The request is not valid HTTP/1.1.';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // Node reports both of its deadlines with this one code.
    const headersReceived = inFlight != null;
    this.connectionRejections.record(headersReceived ? 'body_timeout' : 'headers_timeout');
    status = 408;
    code = 'request_timeout';
    message = headersReceived
      ? `The request was not received in full within ${this.server.requestTimeout} ms.`
      : `The request headers were not received within ${this.server.headersTimeout} ms.`;
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'request_headers_too_large';
    message = 'The request headers are larger than this gateway accepts.';
  }
  // Not `{ err: error }`: a parser error carries the request's raw bytes (`rawPacket`), Authorization included.
  this.log.debug({ err: { type: error.name, code: error.code, message: error.message } }, 'client error');
  // As Node does: no answer when a response on this connection has already begun, it would corrupt it.
  if (socket.writable && inFlight?.headersSent !== true) {
    const body = JSON.stringify(new GatewayError(status, 'invalid_request_error', message, { code }).toJSON());
    // No request was made of it, so its id is a new one: still every answer of the gateway carries one.
    const requestId = randomUUID();
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `X-Gateway-Request-Id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
