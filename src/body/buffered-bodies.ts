import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bytes this request's body holds against `limits.bufferedBodyBytes`; released once it is dropped. */
    bodyHold: BodyHold | undefined;
  }
}

/** What the cap is read from on every request, so a reload changes it at once. */
export interface BodyLimits {
  readonly config: { readonly bodyLimitBytes: number; readonly limits: { readonly bufferedBodyBytes: number } };
}

/** Seconds a refused upload is asked to wait: bodies in memory are forwarded and dropped within moments. */
const RETRY_AFTER_SECONDS = 1;

/** The request body bytes held in memory across every request in flight. */
export class BufferedBodies {
  held = 0;

  /** Holds `bytes` for one request, or undefined when that would take the total past `capBytes`. */
  hold(bytes: number, capBytes: number): BodyHold | undefined {
    if (this.held + bytes > capBytes) return undefined;
    this.held += bytes;
    return new BodyHold(this, bytes);
  }
}

/** One request's share; shrinking and releasing are safe to repeat, so every way a request ends may call them. */
export class BodyHold {
  constructor(
    private readonly bodies: BufferedBodies,
    private bytes: number,
  ) {}

  shrinkTo(bytes: number): void {
    if (bytes >= this.bytes) return;
    this.bodies.held -= this.bytes - bytes;
    this.bytes = bytes;
  }

  release(): void {
    this.shrinkTo(0);
  }
}

/**
 * Bodies are read whole into memory (JSON is parsed whole; a form is read whole and forwarded as it came),
 * so before a request's body is read, the bytes it will hold are counted against
 * `limits.bufferedBodyBytes`: its Content-Length, or `bodyLimitBytes` for a chunked body until its real
 * length is known. A request that would pass the cap is answered 503 `server_busy` with `Retry-After` and
 * its body is never read, so the requests already admitted keep what they hold. The share is released when
 * the body is dropped (once an upstream answered: see `releaseRequestBody`) or when the request ends, however
 * it ends. A body over `bodyLimitBytes` holds nothing: it gets its 413 without being read.
 */
export function capBufferedBodies(app: FastifyInstance, bodies: BufferedBodies, source: BodyLimits): void {
  app.decorateRequest('bodyHold', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    const { bodyLimitBytes, limits } = source.config;
    const length = request.headers['content-length'];
    const bytes = length !== undefined ? Number(length) : request.headers['transfer-encoding'] !== undefined ? bodyLimitBytes : 0;
    if (!(bytes > 0) || bytes > bodyLimitBytes) return done();
    const hold = bodies.hold(bytes, limits.bufferedBodyBytes);
    if (hold !== undefined) {
      request.bodyHold = hold;
      return done();
    }
    // Answered here rather than thrown: an overload is not a failure of the gateway worth an error line each.
    const busy = new GatewayError(503, 'server_error', 'The gateway holds as many request bodies in memory as it may; retry shortly.', {
      code: 'server_busy',
    });
    void reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).type('application/json; charset=utf-8').send(busy.toJSON());
  });
  // The body is read: a chunked one now holds its real length.
  app.addHook('preValidation', (request, _reply, done) => {
    request.bodyHold?.shrinkTo(request.rawBody?.length ?? 0);
    done();
  });
}
