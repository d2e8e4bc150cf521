import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { badGateway, GatewayError, gatewayTimeout } from '../errors.js';
import { coolDown, failureForStatus, type FailureReason, type HealthOptions } from '../routing/health.js';
import { UpstreamAbort } from '../request-context.js';
import type { Account, UpstreamPool } from '../routing/pool.js';
import { JsonUsageTail } from './json-tap.js';
import { watchResponseId } from './response-id.js';
import type { SecretScrubber } from './scrub.js';
import { SseTap } from './sse-tap.js';
import type { Usage } from './usage.js';

export interface ForwardOptions extends HealthOptions {
  upstreamMs: number;
  streamIdleMs: number;
  maxAttempts: number;
}

export interface ForwardTarget {
  pool: UpstreamPool;
  /** Endpoint path below the pool's base URL, such as `/chat/completions`, with any query string. */
  path: string;
  /** POST unless said otherwise. */
  method?: 'GET' | 'POST' | 'DELETE';
  /** The body, or undefined for a request without one. */
  payload: Buffer | string | undefined;
  /** The body's media type, when it is not JSON (a multipart form, with its boundary). */
  contentType?: string | undefined;
  /** The request is bound to `first` (a stored response lives there): no other account is tried. */
  bound?: boolean;
  /** Told the id of the response the upstream made (Responses API), read from the head of its answer. */
  onResponseId?: (id: string, account: Account) => void;
  /** The gateway asked for stream usage itself, so the usage-only chunk is removed from the client's stream. */
  stripUsageChunk: boolean;
  conversationId: string | undefined;
  /** The account to try first (chosen by weight, or the conversation's pinned one). */
  first: Account;
  /** Called with the account that answered, once it has; sticky routing re-pins on it. */
  onServed?: (account: Account) => void;
}

export interface ForwardEvents {
  /** An attempt failed and the account was cooled down. */
  onUpstreamFailure?(account: Account, reason: FailureReason, cooldownMs: number, request: FastifyRequest): void;
}

/** Upstream response headers a client may see; everything else (cookies, the upstream's own rate limits) stays here. */
const PASSED_HEADERS = ['content-type', 'openai-processing-ms', 'retry-after'] as const;
const MAX_ERROR_BODY_BYTES = 1024 * 1024;
const JSON_TYPE = 'application/json';

/** An upstream answer with an error status, to be passed on to the client. */
interface UpstreamError {
  account: Account;
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: string;
}

/** The last failed attempt: an error answer, or a connection that failed. */
type FailedAttempt = UpstreamError | { account: Account; status: undefined; error: Error };

/**
 * Sends a validated request upstream and relays the answer.
 *
 * Built on undici directly rather than @fastify/reply-from: the gateway must abort the upstream request
 * the moment its client goes away (reply-from only notices once upstream headers arrive, which for a
 * reasoning model can be minutes), must retry on a different account with a different key, and forwards
 * the body as the raw bytes it received, which reply-from would re-serialise.
 */
export class Forwarder {
  constructor(
    private readonly dispatcher: Dispatcher,
    private options: ForwardOptions,
    private scrubber: SecretScrubber,
    private readonly log: FastifyBaseLogger,
    private readonly events: ForwardEvents = {},
  ) {}

  /** Takes new options and upstream keys (a config reload); requests already running may see either. */
  update(options: ForwardOptions, scrubber: SecretScrubber): void {
    this.options = options;
    this.scrubber = scrubber;
  }

  async forward(request: FastifyRequest, reply: FastifyReply, target: ForwardTarget): Promise<FastifyReply> {
    // Fired by the gateway's close listener on the response (see app.ts) when the client leaves first.
    const abort = new UpstreamAbort();
    request.gateway.upstreamAbort = abort;
    // A client that left while the request was being checked or routed has nothing to wait for.
    if (reply.raw.destroyed) abort.abort();

    const tried = new Set<Account>();
    let account: Account | undefined = target.first;
    let failed: FailedAttempt | undefined;
    const maxAttempts = target.bound === true ? 1 : this.options.maxAttempts;
    while (account !== undefined && tried.size < maxAttempts) {
      tried.add(account);
      request.gateway.account = account;
      const startedAt = performance.now();
      const headers = upstreamHeaders(account, target.conversationId, target.payload === undefined ? undefined : (target.contentType ?? JSON_TYPE));
      // With tracing on: this attempt's span, whose traceparent goes upstream in `headers`.
      const attempt = request.gateway.trace?.upstreamAttempt(account, target.method ?? 'POST', target.pool.basePath + target.path, headers);
      let response: Dispatcher.ResponseData;
      try {
        response = await this.dispatcher.request({
          origin: target.pool.origin,
          path: target.pool.basePath + target.path,
          method: target.method ?? 'POST',
          headers,
          body: target.payload,
          signal: abort,
          headersTimeout: this.options.upstreamMs,
          bodyTimeout: this.options.streamIdleMs,
        });
      } catch (err) {
        attempt?.failed(err as Error);
        request.gateway.upstreamMs += performance.now() - startedAt;
        if (abort.aborted) return reply.code(499).send();
        const error = err as Error & { code?: string };
        if (error.code === 'UND_ERR_HEADERS_TIMEOUT') {
          this.noteFailure(request, account, 'timeout', 0);
          // Not retried: the prompt may already be running upstream, and a second try doubles the wait.
          throw gatewayTimeout(`The upstream did not answer within ${this.options.upstreamMs} ms.`);
        }
        this.fail(request, account, 'unreachable');
        failed = { account, status: undefined, error };
        account = target.pool.pick(Date.now(), tried);
        continue;
      }
      attempt?.answered(response);

      const reason = failureForStatus(response.statusCode);
      if (reason !== undefined) {
        const body = await readText(response.body).catch(() => '');
        request.gateway.upstreamMs += performance.now() - startedAt;
        this.fail(request, account, reason, header(response.headers, 'retry-after'));
        failed = { account, status: response.statusCode, headers: response.headers, body };
        account = target.pool.pick(Date.now(), tried);
        continue;
      }

      if (response.statusCode >= 400) {
        // A client error the upstream found (such as an unsupported parameter): passed on, keys masked.
        const body = await readText(response.body);
        request.gateway.upstreamMs += performance.now() - startedAt;
        return this.sendUpstreamError(reply, { account, status: response.statusCode, headers: response.headers, body });
      }

      target.onServed?.(account);
      return this.relay(request, reply, account, response, target, startedAt);
    }

    if (failed === undefined) throw badGateway('No upstream account is available for this model.');
    request.gateway.account = failed.account;
    if (failed.status === undefined) {
      reply.header('x-gateway-account', failed.account.name);
      throw badGateway(`The upstream could not be reached (${failed.error.message}).`);
    }
    return this.sendUpstreamError(reply, failed);
  }

  /**
   * Passes an upstream error on with its status, keys masked. A body that is not a JSON object (an HTML
   * page from a proxy in front of the upstream, an empty body) is replaced by OpenAI's envelope, so the
   * SDKs raise with a readable message instead of a page of markup.
   */
  private sendUpstreamError(reply: FastifyReply, { account, status, headers, body }: UpstreamError): FastifyReply {
    reply.header('x-gateway-account', account.name);
    copyHeaders(reply, headers);
    if (isJsonObject(body)) return reply.code(status).send(this.scrubber.scrub(body));
    const error = new GatewayError(status, status >= 500 ? 'server_error' : 'invalid_request_error', `The upstream returned ${status} with a body that is not JSON.`, {
      code: 'upstream_error',
    });
    return reply.code(status).type('application/json; charset=utf-8').send(error.toJSON());
  }

  private relay(
    request: FastifyRequest,
    reply: FastifyReply,
    account: Account,
    response: Dispatcher.ResponseData,
    target: ForwardTarget,
    startedAt: number,
  ): FastifyReply {
    const context = request.gateway;
    const body = response.body;
    reply.code(response.statusCode).header('x-gateway-account', account.name);
    copyHeaders(reply, response.headers);

    const onUsage = (usage: Usage): void => {
      context.usage = usage;
    };
    body.once('close', () => {
      context.upstreamMs += performance.now() - startedAt;
    });

    const onResponseId = target.onResponseId;
    if (onResponseId !== undefined) watchResponseId(body, (id) => onResponseId(id, account));
    const contentType = header(response.headers, 'content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      reply.header('cache-control', 'no-cache, no-transform').header('x-accel-buffering', 'no');
      const tap = new SseTap(target.stripUsageChunk, {
        onFirstToken: () => {
          context.firstTokenAt = performance.now();
        },
        onUsage,
      });
      body.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'UND_ERR_ABORTED' || reply.raw.destroyed) return;
        const idle = err.code === 'UND_ERR_BODY_TIMEOUT';
        this.log.warn({ reqId: request.id, account: account.name, err: err.message }, 'upstream stream failed');
        tap.fail(
          idle ? `The upstream stream was silent for ${this.options.streamIdleMs} ms.` : 'The upstream stream failed.',
          idle ? 'upstream_stream_idle' : 'upstream_stream_failed',
        );
      });
      body.pipe(tap);
      return reply.send(tap);
    }

    const contentLength = header(response.headers, 'content-length');
    if (contentLength !== undefined) reply.header('content-length', contentLength);
    // The body goes to the client as it is, piped by Fastify; the tail watches it as a second listener.
    // Paused until that pipe starts it, so no chunk can pass before the pipe is there.
    const tail = new JsonUsageTail();
    body.on('data', tail.add);
    body.pause();
    body.once('end', () => {
      const usage = tail.usage();
      if (usage !== undefined) onUsage(usage);
    });
    body.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'UND_ERR_ABORTED' || reply.raw.destroyed) return;
      this.log.warn({ reqId: request.id, account: account.name, err: err.message }, 'upstream response failed');
      // Answered in the envelope when no byte has reached the client yet (the error handler takes it from
      // here); otherwise its connection is cut.
      context.upstreamFailure =
        err.code === 'UND_ERR_BODY_TIMEOUT'
          ? gatewayTimeout(`The upstream response was silent for ${this.options.streamIdleMs} ms.`)
          : new GatewayError(502, 'server_error', 'The upstream response failed before it was complete.', { code: 'upstream_response_failed' });
    });
    return reply.send(body);
  }

  private fail(request: FastifyRequest, account: Account, reason: FailureReason, retryAfter?: string): void {
    const cooldownMs = coolDown(account, reason, Date.now(), this.options, retryAfter);
    this.noteFailure(request, account, reason, cooldownMs);
  }

  private noteFailure(request: FastifyRequest, account: Account, reason: FailureReason, cooldownMs: number): void {
    (request.gateway.upstreamErrors ??= []).push(`${account.name}:${reason}`);
    const fields = { reqId: request.id, account: account.name, pool: account.pool.name, reason, cooldownMs };
    if (reason === 'bad_key') {
      this.log.error(fields, 'upstream rejected the account key (401/403): check this account in the config');
    } else {
      this.log.warn(fields, 'upstream attempt failed');
    }
    this.events.onUpstreamFailure?.(account, reason, cooldownMs, request);
  }
}

function upstreamHeaders(account: Account, conversationId: string | undefined, contentType: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { authorization: account.authorization };
  if (contentType !== undefined) headers['content-type'] = contentType;
  // Forwarded unchanged: an upstream that is itself such a gateway routes on it too.
  if (conversationId !== undefined) headers['x-conversation-id'] = conversationId;
  return headers;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function copyHeaders(reply: FastifyReply, headers: Dispatcher.ResponseData['headers']): void {
  for (const name of PASSED_HEADERS) {
    const value = header(headers, name);
    if (value !== undefined) reply.header(name, value);
  }
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

async function readText(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ERROR_BODY_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
