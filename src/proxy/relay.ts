import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { gatewayTimeout, type GatewayError, upstreamResponseFailed } from '../errors.js';
import { CLIENT_CLOSED_REQUEST } from '../metrics/gateway-metrics.js';
import type { Account } from '../accounts/pool.js';
import { copyHeaders, header } from './headers.js';
import { JsonUsageTail } from './json-tap.js';
import { watchResponseId } from './response-id.js';
import type { SecretScrubber } from './scrub.js';
import type { PromptText } from './prompt-text.js';
import { SseRelay } from './sse-relay.js';
import { SseTap } from './sse-tap.js';
import type { SseWatcher } from './sse-watcher.js';
import { estimatorFor } from './usage-estimate.js';
import type { UpstreamResponse } from './upstream-request.js';
import { CHAT_STREAM, type StreamFormat } from './stream-formats.js';
import type { Usage } from './usage.js';

/** What the relay of a served answer needs to know of the request's endpoint. */
export interface RelayTarget {
  /** Told the id of the response the upstream made (Responses API), read from the head of its answer. */
  onResponseId?: (id: string, account: Account) => void;
  /** The gateway asked for stream usage itself, so the usage-only chunk is removed from the client's stream. */
  stripUsageChunk: boolean;
  /** The answer is an images answer, charged per image it returns (src/spend/image-count.ts). */
  countsImages?: boolean;
  /** What the endpoint's stream looks like, should the answer be one; a chat completion stream by default. */
  stream?: StreamFormat | undefined;
  /** A streamed request's prompt: with it, a stream its client leaves before the usage is charged an estimate. */
  prompt?: PromptText | undefined;
  /** The answer is in another API than the client's, and is rewritten into the client's (src/translate/). */
  translation?: AnswerTranslation | undefined;
}

/**
 * Rewrites an upstream answer into the client's API. Usage, first token and hang-up estimates are still read
 * from the upstream's own answer, before it is rewritten.
 */
export interface AnswerTranslation {
  /** A whole answer (keys masked); throws a GatewayError when it cannot be read. */
  body(answer: Buffer): string;
  /** A stream's events, taken whole as the SSE tap releases them. */
  stream(): Transform;
  /** An upstream error answer's body, a JSON object. */
  error(status: number, body: string): string;
}

export interface RelayOptions {
  log: FastifyBaseLogger;
  /** Masks upstream keys in what is relayed. */
  scrubber: SecretScrubber;
  streamIdleMs: number;
}

/** How long a stream whose client left after its finish chunk is read on for its usage. */
const USAGE_DRAIN_MS = 5_000;
/** An answer of announced length up to this size is relayed whole (see {@link relayWhole}). */
export const WHOLE_BODY_BYTES = 64 * 1024;
/** The largest answer read whole to be translated (a chat completion is a few KiB). */
const MAX_TRANSLATED_BYTES = 16 * 1024 * 1024;

/**
 * Relays a served upstream answer to the client as it arrives, keys masked, its usage and first token read
 * on the way: an SSE stream through the tap (whole events, the endpoint's stream format), anything else
 * through the scrubber, with its usage read from the tail.
 */
export function relay(
  request: FastifyRequest,
  reply: FastifyReply,
  account: Account,
  response: UpstreamResponse,
  target: RelayTarget,
  { log, scrubber, streamIdleMs }: RelayOptions,
): FastifyReply | Promise<FastifyReply> {
  const context = request.gateway;
  const body = response.body;
  reply.code(response.statusCode).header('x-gateway-account', account.name);
  copyHeaders(reply, response.headers, scrubber);

  const merge = target.stream?.mergeUsage;
  let streamWatcher: SseWatcher | undefined;
  const onUsage = (usage: Usage): void => {
    context.usage = merge === undefined || context.usage === undefined ? usage : merge(context.usage, usage);
    // Usage in parts is whole only once the stream finished: until then the output may still be estimated.
    context.usagePartial = merge !== undefined && streamWatcher !== undefined && !streamWatcher.finished;
    if (context.usagePartial) return;
    // Real usage came: nothing is estimated, and the prompt's text need not be kept.
    context.estimateUsage = undefined;
  };

  const onResponseId = target.onResponseId;
  if (onResponseId !== undefined) watchResponseId(body, (id) => onResponseId(id, account));
  const contentType = header(response.headers, 'content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) {
    watchForStalledClient(request.raw.socket, reply.raw, streamIdleMs);
    reply.header('cache-control', 'no-cache, no-transform').header('x-accel-buffering', 'no');
    const client = sendHead(reply);
    const format = target.stream ?? CHAT_STREAM;
    const observer = {
      onFirstToken: () => {
        context.firstTokenAt = performance.now();
      },
      onUsage,
    };
    const mask = (events: Buffer): Buffer => scrubber.maskComplete(events);
    const translation = target.translation;
    const tap =
      translation === undefined
        ? new SseRelay(body, client, format, target.stripUsageChunk, observer, mask)
        : pipeTranslated(body, new SseTap(format, target.stripUsageChunk, observer, mask), translation.stream(), client);
    streamWatcher = tap.watcher;
    // A client that leaves after the finish chunk leaves only the usage chunk and `[DONE]` unread: they
    // are read (for a few seconds at most) so the request's tokens are counted. Before it, the
    // upstream is closed at once: the tokens still to come would be paid for nothing.
    context.drainForUsage = () => (tap.watcher.finished && !tap.watcher.complete && context.usage === undefined ? tap.readRest(body, USAGE_DRAIN_MS) : undefined);
    if (target.prompt !== undefined && tap.watcher.delivered !== undefined) context.estimateUsage = estimatorFor(context, target.prompt, tap.watcher.delivered);
    body.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'UND_ERR_ABORTED' || reply.raw.destroyed) return;
      const idle = err.code === 'UND_ERR_BODY_TIMEOUT';
      log.warn({ reqId: request.id, account: account.name, err: err.message }, 'upstream stream failed');
      tap.fail(
        idle ? `The upstream stream was silent for ${streamIdleMs} ms.` : 'The upstream stream failed.',
        idle ? 'upstream_stream_idle' : 'upstream_stream_failed',
      );
    });
    return reply;
  }

  const contentLength = header(response.headers, 'content-length');
  const length = contentLength === undefined ? Infinity : Number(contentLength);
  // An answer to translate is read whole whatever its size: it is rewritten as a whole.
  if (length <= WHOLE_BODY_BYTES || target.translation !== undefined) {
    return relayWhole(request, reply, account, body, { log, scrubber, streamIdleMs }, onUsage, target);
  }
  watchForStalledClient(request.raw.socket, reply.raw, streamIdleMs);
  if (contentLength !== undefined) reply.header('content-length', contentLength);
  // The body goes to the client through the scrubber (which keeps its length), piped by Fastify; the
  // tail watches it as a second listener of the upstream body.
  const tail = new JsonUsageTail(target.countsImages === true);
  const scrubbed = scrubber.stream();
  body.on('data', tail.add);
  body.pipe(scrubbed);
  body.once('end', () => {
    const usage = tail.usage();
    if (usage !== undefined) onUsage(usage);
  });
  body.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'UND_ERR_ABORTED' || reply.raw.destroyed) {
      scrubbed.destroy();
      return;
    }
    // Answered in the envelope when no byte has reached the client yet (the error handler takes it from
    // here); otherwise its connection is cut.
    context.upstreamFailure = bodyFailure(request, account, err, log, streamIdleMs);
    scrubbed.destroy(err);
  });
  return reply.send(scrubbed);
}

/**
 * Whether a whole answer just sent still has bytes in this process: queued behind an earlier answer of a
 * pipelining connection, or more than the socket's buffers took. One the kernel took whole needs no stall
 * watch: its response has finished, and Node's keep-alive timeout watches the connection from there. This
 * spares nearly every short answer a socket timer of its own.
 */
function bytesWaiting(response: ServerResponse): boolean {
  return response.socket === null || !response.writableEnded || response.writableLength > 0;
}

/**
 * A client that has bytes of its answer waiting and takes none of them for `idleMs` (as long as an upstream
 * may stay silent) has its connection closed, as one that left: the upstream request is aborted and
 * nothing is held for it any longer. Node restarts the socket's timer at each write the client takes;
 * when it fires with nothing waiting, it is the upstream that is slow (its own timeout covers that), and
 * the timer is set again. Once the answer is complete, Node sets its keep-alive timeout in its place.
 * "Takes" is the kernel's: a client that reads nothing still takes writes until the socket buffers (a few
 * MiB) are full, and the clock runs from then; the process holds no more than its stream buffers meanwhile.
 */
function watchForStalledClient(socket: Socket, response: ServerResponse, idleMs: number): void {
  if (typeof socket.setTimeout !== 'function') return; // the simulated socket of `inject`
  socket.setTimeout(idleMs);
  response.on('timeout', onSocketTimeout);
}

/** Node emits a socket's timeout on the response it is serving, with the socket. */
function onSocketTimeout(socket: Socket): void {
  if (socket.writableLength > 0) socket.destroy();
  else socket.setTimeout(socket.timeout ?? 0);
}

/**
 * Sends a stream's head; its events follow as the tap releases them, written straight to the client's
 * response rather than through Fastify's stream sending: its two end-of-stream watchers cost every held
 * stream about 4 KiB of listeners and a few µs. The reply is hijacked, so its head (the status and headers
 * set on it so far) is written here; Fastify still runs the onResponse hook when the response finishes.
 * When the client leaves first, the tap stops once it has been given the chance to read on for the usage
 * (see request-lifecycle.ts).
 */
function sendHead(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  flattenHead(raw);
  return raw;
}

/**
 * Node builds a response's head by appending each header to a string, and keeps that string for the
 * response's life: for a stream's head, a rope of some sixty strings, about 2 KiB of heap per held stream.
 * Reading one of its characters makes V8 flatten it in place into one string of the head's length.
 */
function flattenHead(response: ServerResponse): void {
  const head = (response as { _header?: unknown })._header;
  if (typeof head === 'string') head.charCodeAt(0);
}

/** An answer to translate goes through the tap and the translation as stream stages; returns the tap. */
function pipeTranslated(body: Readable, tap: SseTap, translated: Transform, client: ServerResponse): SseTap {
  client.once('close', () => {
    if (!tap.readableEnded) tap.destroy();
    translated.destroy();
  });
  body.pipe(tap).pipe(translated).pipe(client);
  return tap;
}

/**
 * A short answer of announced length (a chat completion, an embedding of a few vectors), or one to translate:
 * read whole, its keys masked and its usage read in one pass each, and sent in one write with the response
 * head. It arrives in one or two reads of the upstream's socket anyway, so holding it back costs the client
 * nothing, and the gateway saves a stream stage and a write per request. A body that fails before its end
 * is answered in the envelope: no byte of it has reached the client.
 */
function relayWhole(
  request: FastifyRequest,
  reply: FastifyReply,
  account: Account,
  body: Readable,
  { log, scrubber, streamIdleMs }: RelayOptions,
  onUsage: (usage: Usage) => void,
  { translation, countsImages }: RelayTarget,
): Promise<FastifyReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      // An answer of unannounced length is read whole only to be translated: a runaway one is refused.
      if (translation !== undefined && size > MAX_TRANSLATED_BYTES && !refused) {
        // Settled before the destroy, whose abort error must not be read as the client hanging up.
        refused = true;
        reject(upstreamResponseFailed(`The upstream answer is larger than ${MAX_TRANSLATED_BYTES / 1024 / 1024} MiB.`));
        body.destroy();
      }
    });
    body.once('end', () => {
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const tail = new JsonUsageTail(countsImages === true);
      tail.add(whole);
      const usage = tail.usage();
      if (usage !== undefined) onUsage(usage);
      const masked = scrubber.maskComplete(whole);
      try {
        resolve(reply.send(translation === undefined ? masked : translation.body(masked)));
        if (bytesWaiting(reply.raw)) watchForStalledClient(request.raw.socket, reply.raw, streamIdleMs);
      } catch (err) {
        failed(err as Error);
      }
    });
    body.once('error', (err: Error & { code?: string }) => {
      if (refused) return;
      if (err.code === 'UND_ERR_ABORTED' || reply.raw.destroyed) resolve(reply.code(CLIENT_CLOSED_REQUEST).send());
      else failed(bodyFailure(request, account, err, log, streamIdleMs));
    });
    /** The envelope that answers a failure is sent after this: it is watched from now on, as it cannot be afterwards. */
    const failed = (err: Error): void => {
      watchForStalledClient(request.raw.socket, reply.raw, streamIdleMs);
      reject(err);
    };
  });
}

/** Logs a served upstream body that broke or went silent; the error its client is answered with. */
function bodyFailure(request: FastifyRequest, account: Account, err: Error & { code?: string }, log: FastifyBaseLogger, streamIdleMs: number): GatewayError {
  log.warn({ reqId: request.id, account: account.name, err: err.message }, 'upstream response failed');
  return err.code === 'UND_ERR_BODY_TIMEOUT'
    ? gatewayTimeout(`The upstream response was silent for ${streamIdleMs} ms.`)
    : upstreamResponseFailed('The upstream response failed before it was complete.');
}
