import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { badGateway, GatewayError, gatewayTimeout, upstreamResponseFailed } from '../errors.js';
import { coolDown, coolDownModel, judgeUpstreamError, type HealthOptions } from '../accounts/account-health.js';
import type { FailureReason } from '../accounts/failure-reason.js';
import type { RequestContext } from '../request-context.js';
import type { Account, UpstreamPool } from '../accounts/pool.js';
import { isJsonObject, readText } from './error-body.js';
import { envelopeFor } from '../server/error-envelope.js';
import { copyHeaders, forwardedHeaders, header } from './headers.js';
import { relay, type RelayTarget } from './relay.js';
import { requestUpstream, UpstreamAbort, type UpstreamResponse } from './upstream-request.js';
import type { SecretScrubber } from './scrub.js';

export interface ForwardOptions extends HealthOptions {
  upstreamMs: number;
  streamIdleMs: number;
  maxAttempts: number;
}

export interface ForwardTarget extends RelayTarget {
  pool: UpstreamPool;
  /** Endpoint path below the pool's base URL, such as `/chat/completions`, with any query string. */
  path: string;
  /** POST unless said otherwise. */
  method?: 'GET' | 'POST' | 'DELETE';
  /** The body, or undefined for a request without one. */
  payload: Buffer | string | undefined;
  /** The body's media type, when it is not JSON (a multipart form, with its boundary). */
  contentType?: string | undefined;
}

export interface ForwardEvents {
  /** An attempt failed and the account was cooled down. */
  onUpstreamFailure?(account: Account, reason: FailureReason, cooldownMs: number, request: FastifyRequest): void;
}

const JSON_TYPE = 'application/json';

/** An upstream answer with an error status, to be passed on to the client. */
interface UpstreamError {
  account: Account;
  status: number;
  headers: UpstreamResponse['headers'];
  body: string;
}

/** The last failed attempt: an error answer, or what the client gets for a connection or error body that failed. */
type FailedAttempt = UpstreamError | { account: Account; error: GatewayError };

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

  /**
   * `first`: the account to try first (chosen by weight, or the conversation's pinned one); `onServed` is
   * called with the account that answered, once it has (sticky routing re-pins on it); `bound`: the request
   * is bound to `first` (a stored response lives there) and no other account is tried. Apart from `target`,
   * which the route built for this request, so that no object is copied to add them.
   */
  async forward(
    request: FastifyRequest,
    reply: FastifyReply,
    target: ForwardTarget,
    first: Account,
    onServed?: (account: Account) => void,
    bound = false,
  ): Promise<FastifyReply> {
    // Fired by the gateway's close listener on the response (see app.ts) when the client leaves first.
    const abort = new UpstreamAbort();
    const context = request.gateway;
    context.upstreamAbort = abort;
    // A client that left while the request was being checked or routed has nothing to wait for (its
    // request has ended; a queued answer's response is not destroyed, see onQueuedResponseLost).
    if (reply.raw.destroyed || context.ended) abort.abort();

    const model = context.model;
    const clientHeaders = forwardedHeaders(request, target.payload === undefined ? undefined : (target.contentType ?? JSON_TYPE), target.pool.api);
    const tried = new Set<Account>();
    let account: Account | undefined = firstUsable(target.pool, first, model, Date.now());
    let failed: FailedAttempt | undefined;
    const maxAttempts = bound ? 1 : this.options.maxAttempts;
    while (account !== undefined && tried.size < maxAttempts) {
      tried.add(account);
      account.recent.attempt(Date.now());
      context.account = account;
      const startedAt = performance.now();
      // The account's own headers last: no client header may replace its key, organization or project.
      // Object.assign rather than spreading: the spread copy cost about 1 µs a request.
      const headers: Record<string, string> = Object.assign({}, clientHeaders, account.headers);
      // With tracing on: this attempt's span, whose traceparent goes upstream in `headers`.
      const attempt = request.gateway.trace?.upstreamAttempt(account, target.method ?? 'POST', target.pool.basePath + target.path, headers);
      let response: UpstreamResponse;
      try {
        response = await requestUpstream(this.dispatcher, {
          origin: target.pool.origin,
          path: target.pool.basePath + target.path,
          method: target.method ?? 'POST',
          headers,
          body: target.payload,
          abort,
          headersTimeout: this.options.upstreamMs,
          bodyTimeout: this.options.streamIdleMs,
        });
      } catch (err) {
        attempt?.failed(err as Error);
        context.upstreamMs += performance.now() - startedAt;
        if (abort.aborted) return reply.code(499).send();
        const error = err as Error & { code?: string };
        if (error.code === 'UND_ERR_HEADERS_TIMEOUT') {
          this.noteFailure(request, account, 'timeout', 0);
          // Not retried: the prompt may already be running upstream, and a second try doubles the wait.
          throw gatewayTimeout(`The upstream did not answer within ${this.options.upstreamMs} ms.`);
        }
        // What undici says (an address, a system error) goes to the log only.
        this.fail(request, account, 'unreachable', undefined, error);
        failed = { account, error: badGateway('The upstream could not be reached.') };
        account = target.pool.pick(Date.now(), tried, model);
        continue;
      }
      attempt?.answered(response);

      if (response.statusCode < 400) {
        onServed?.(account);
        releaseRequestBody(request);
        countUpstreamUntilBodyEnds(context, response.body, startedAt);
        return relay(request, reply, account, response, target, { log: this.log, scrubber: this.scrubber, streamIdleMs: this.options.streamIdleMs });
      }

      let body = '';
      let readFailure: GatewayError | undefined;
      try {
        body = await readText(response.body);
      } catch (err) {
        if (abort.aborted) {
          context.upstreamMs += performance.now() - startedAt;
          return reply.code(499).send();
        }
        readFailure = this.errorBodyFailed(request, account, response.statusCode, err as Error & { code?: string });
      }
      context.upstreamMs += performance.now() - startedAt;
      const verdict = judgeUpstreamError(response.statusCode, body);
      if (verdict.scope === 'account') {
        this.fail(request, account, verdict.reason, header(response.headers, 'retry-after'));
      } else if (verdict.scope === 'model' && model !== undefined) {
        this.noteFailure(request, account, verdict.reason, coolDownModel(account, model, Date.now(), this.options));
      } else {
        // A client error the upstream found (such as an unsupported parameter): passed on, keys masked. (So is a
        // refusal of one model for a request that names none: there is no model to rest.)
        if (readFailure !== undefined) throw this.withAccount(reply, account, readFailure);
        return this.sendUpstreamError(request, reply, { account, status: response.statusCode, headers: response.headers, body }, target);
      }
      failed = readFailure === undefined ? { account, status: response.statusCode, headers: response.headers, body } : { account, error: readFailure };
      account = target.pool.pick(Date.now(), tried, model);
    }

    if (failed === undefined) throw badGateway('No upstream account is available for this model.');
    context.account = failed.account;
    if ('error' in failed) throw this.withAccount(reply, failed.account, failed.error);
    return this.sendUpstreamError(request, reply, failed, target);
  }

  /** An upstream error answer whose body broke or went silent while it was read: 504 for silence, else 502. */
  private errorBodyFailed(request: FastifyRequest, account: Account, status: number, err: Error & { code?: string }): GatewayError {
    this.log.warn({ reqId: request.id, account: account.name, status, err: err.message }, 'upstream error body failed');
    return err.code === 'UND_ERR_BODY_TIMEOUT'
      ? gatewayTimeout(`The upstream's error response was silent for ${this.options.streamIdleMs} ms.`)
      : upstreamResponseFailed(`The upstream returned ${status}, and its response failed before it was complete.`);
  }

  private withAccount(reply: FastifyReply, account: Account, error: GatewayError): GatewayError {
    reply.header('x-gateway-account', account.name);
    return error;
  }

  /**
   * Passes an upstream error on with its status, keys masked. A body that is not a JSON object (an HTML
   * page from a proxy in front of the upstream, an empty body) is replaced by OpenAI's envelope, so the
   * SDKs raise with a readable message instead of a page of markup. A translated request's error is told in
   * its client's API.
   */
  private sendUpstreamError(request: FastifyRequest, reply: FastifyReply, { account, status, headers, body }: UpstreamError, target: ForwardTarget): FastifyReply {
    reply.header('x-gateway-account', account.name);
    copyHeaders(reply, headers, this.scrubber);
    if (isJsonObject(body)) return reply.code(status).send(this.scrubber.scrub(target.translation?.error(status, body) ?? body));
    const error = new GatewayError(status, status >= 500 ? 'server_error' : 'invalid_request_error', `The upstream returned ${status} with a body that is not JSON.`, {
      code: 'upstream_error',
    });
    return reply.code(status).type('application/json; charset=utf-8').send(envelopeFor(request, error));
  }

  private fail(request: FastifyRequest, account: Account, reason: FailureReason, retryAfter?: string, error?: Error): void {
    const cooldownMs = coolDown(account, reason, Date.now(), this.options, retryAfter);
    this.noteFailure(request, account, reason, cooldownMs, error);
  }

  private noteFailure(request: FastifyRequest, account: Account, reason: FailureReason, cooldownMs: number, error?: Error): void {
    (request.gateway.upstreamErrors ??= []).push(`${account.name}:${reason}`);
    account.recent.failure(Date.now());
    const fields = {
      reqId: request.id,
      account: account.name,
      pool: account.pool.name,
      reason,
      cooldownMs,
      ...(reason === 'model_unavailable' ? { model: request.gateway.model } : {}),
      ...(error === undefined ? {} : { err: error.message }),
    };
    if (reason === 'bad_key') {
      this.log.error(fields, 'upstream rejected the account key (401/403): check this account in the config');
    } else {
      this.log.warn(fields, 'upstream attempt failed');
    }
    this.events.onUpstreamFailure?.(account, reason, cooldownMs, request);
  }
}

/**
 * The account to try first: the one chosen for the request, unless this model rests on it (it refused the
 * model lately) and another account can take it.
 */
function firstUsable(pool: UpstreamPool, first: Account, model: string | undefined, now: number): Account | undefined {
  if (model === undefined || first.modelHealthy(now, model)) return first;
  const other = pool.pick(now, undefined, model);
  return other !== undefined && other.isHealthy(now, model) ? other : first;
}

/**
 * Drops the request's body, raw and parsed, once an upstream has answered it: nothing reads it again (it is
 * never sent a second time), and a stream can stay open for minutes holding a prompt of many KiB.
 */
function releaseRequestBody(request: FastifyRequest): void {
  request.rawBody = undefined;
  request.body = undefined;
  request.form = undefined;
  request.bodyHold?.release();
}

/**
 * Counts the time up to the end of a served upstream body as time spent waiting on the upstream. Taken when
 * the body ends (or is closed before its end, failed or not), which is before the response to the client ends
 * and the request is measured: the overhead histogram then holds the gateway's own time only. Plain listeners,
 * not `once`: the count is taken once anyway, and every open stream would keep a `once` wrapper for each.
 */
function countUpstreamUntilBodyEnds(context: RequestContext, body: UpstreamResponse['body'], startedAt: number): void {
  let counted = false;
  const count = (): void => {
    if (counted) return;
    counted = true;
    context.upstreamMs += performance.now() - startedAt;
  };
  body.on('end', count);
  body.on('close', count);
}
