// Writes a planned answer straight to the Node response, applying the request's fault.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { faultStatusBody, HTML_502, htmlPage, INVALID_JSON_BODY, JSON_TYPE } from './errors.js';
import type { Fault, Plan } from './types.js';

const SSE_TYPE = 'text/event-stream';
const PARTIAL_EVENT = 'data: {"id":';

/** Resolves after `ms`, or early when the response closes (client gone): never leaves a timer behind. */
export function sleep(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

/** Resolves when `release` settles or the response closes, whichever is first. */
function waitFor(release: Promise<void>, res: ServerResponse): Promise<void> {
  if (res.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    release.then(done, done);
  });
}

export function jsonHeaders(body: string, requestId: string, contentType = JSON_TYPE): OutgoingHttpHeaders {
  return { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId };
}

export function sendRaw(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string): void {
  res.writeHead(status, headers);
  res.end(body);
}

const halfOf = (body: string | Buffer): string | Buffer =>
  typeof body === 'string' ? body.slice(0, Math.floor(body.length / 2)) : body.subarray(0, Math.floor(body.length / 2));

/** Writes the first half of `body`, then kills the connection once those bytes are out. */
function writeHalfThenReset(res: ServerResponse, body: string): void {
  res.write(halfOf(body), () => res.socket?.destroy());
}

async function writePieces(
  res: ServerResponse,
  pieces: (string | Buffer)[],
  end: number,
  delayMs: number,
  hold?: { at: number; release: Promise<void> },
): Promise<boolean> {
  for (let i = 0; i < end; i++) {
    if (hold !== undefined && i === hold.at) await waitFor(hold.release, res);
    else if (delayMs > 0 && i > 0) await sleep(delayMs, res);
    if (res.closed || res.destroyed) return false; // client went away: stop writing
    res.write(pieces[i]);
  }
  return true;
}

export async function deliver(
  res: ServerResponse,
  plan: Plan,
  fault: Fault | undefined,
  requestId: string,
  chunkDelayMs: number,
): Promise<void> {
  if (fault?.kind === 'delay-headers') {
    await sleep(fault.ms, res);
    if (res.closed) return;
  } else if (fault?.kind === 'hold-last-chunk' && plan.kind === 'json') {
    await waitFor(fault.release, res);
    if (res.closed) return;
  }

  if (plan.kind === 'json') {
    const contentType = plan.contentType ?? JSON_TYPE;
    const headers = jsonHeaders(plan.body, requestId, contentType);
    switch (fault?.kind) {
      case 'stall-after-headers':
        res.writeHead(plan.status, headers);
        res.flushHeaders();
        return;
      case 'reset-mid-body':
        res.writeHead(plan.status, headers);
        writeHalfThenReset(res, plan.body);
        return;
      case 'cut-stream':
        // No content-length: the body ends "cleanly" (chunked) but is truncated.
        res.writeHead(plan.status, { 'content-type': contentType, 'x-request-id': requestId });
        res.end(plan.body.slice(0, Math.floor(plan.body.length / 2)));
        return;
      default:
        sendRaw(res, plan.status, headers, plan.body);
        return;
    }
  }

  const { pieces, holdAt } = plan;
  const contentType = plan.contentType ?? SSE_TYPE;
  const headers: OutgoingHttpHeaders = { 'content-type': contentType, 'x-request-id': requestId };
  if (contentType === SSE_TYPE) {
    headers['cache-control'] = 'no-cache';
    headers.connection = 'keep-alive';
  }
  res.writeHead(200, headers);
  switch (fault?.kind) {
    case 'stall-after-headers':
      res.flushHeaders();
      return;
    case 'cut-stream':
      if (await writePieces(res, pieces, holdAt, chunkDelayMs)) res.end();
      return;
    case 'reset-mid-body':
      if (await writePieces(res, pieces, holdAt, chunkDelayMs)) {
        // The start of an SSE event, or half of the next audio chunk.
        const partial = contentType === SSE_TYPE ? PARTIAL_EVENT : halfOf(pieces[holdAt] ?? '');
        res.write(partial, () => res.socket?.destroy());
      }
      return;
    case 'hold-last-chunk':
      if (await writePieces(res, pieces, pieces.length, chunkDelayMs, { at: holdAt, release: fault.release })) {
        res.end();
      }
      return;
    default:
      if (await writePieces(res, pieces, pieces.length, chunkDelayMs)) res.end();
  }
}

/** Answers the fault kinds that replace the response entirely; returns false for the others. */
export function sendReplacingFault(res: ServerResponse, fault: Fault, requestId: string, anthropic = false): boolean {
  switch (fault.kind) {
    case 'status': {
      const body =
        fault.body === undefined
          ? faultStatusBody(fault.status, anthropic)
          : typeof fault.body === 'string'
            ? fault.body
            : JSON.stringify(fault.body);
      sendRaw(res, fault.status, { ...jsonHeaders(body, requestId), ...fault.headers }, body);
      return true;
    }
    case 'html': {
      const status = fault.status ?? 502;
      const body = status === 502 ? HTML_502 : htmlPage(status);
      sendRaw(res, status, jsonHeaders(body, requestId, 'text/html'), body);
      return true;
    }
    case 'invalid-json':
      sendRaw(res, 200, jsonHeaders(INVALID_JSON_BODY, requestId), INVALID_JSON_BODY);
      return true;
    default:
      return false;
  }
}
