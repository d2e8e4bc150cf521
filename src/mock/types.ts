// Public types of the mock upstream, and the internal ones its endpoint modules share.
import type { IncomingHttpHeaders } from 'node:http';
import type { ResponseStore } from './responses/store.js';

export interface RecordedRequest {
  method: string;
  /** The request target as received (path plus query string, if any). */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as received: UTF-8 text, or for multipart bodies each byte as one latin1 character. */
  rawBody: string;
  /** The exact bytes of a multipart body (undefined for other bodies, whose bytes are `rawBody` in UTF-8). */
  rawBytes?: Buffer;
  /** Parsed JSON body, or undefined when the body is empty or not valid JSON. */
  body: unknown;
}

export type Fault =
  | { kind: 'status'; status: number; body?: string | object; headers?: Record<string, string> }
  | { kind: 'html'; status?: number }
  | { kind: 'invalid-json' }
  | { kind: 'stall-after-headers' }
  | { kind: 'reset-mid-body' }
  | { kind: 'cut-stream' }
  | { kind: 'delay-headers'; ms: number }
  | { kind: 'hold-last-chunk'; release: Promise<void> };

export interface MockUpstreamOptions {
  host?: string;
  port?: number;
  /** When set, `Authorization: Bearer <k>` must be one of these, else 401 `invalid_api_key`. */
  apiKeys?: string[];
  /** Content chunks per streamed reply (default 5, at least 1). */
  streamChunks?: number;
  /** Delay between streamed chunks in ms (default 0: no timers at all). */
  chunkDelayMs?: number;
  /** Keep every request in `requests` (default true). Long benchmarks turn it off to keep memory flat. */
  recordRequests?: boolean;
  /** Scripted misbehaviour per request; undefined means answer normally. */
  fault?: (req: RecordedRequest) => Fault | undefined;
}

export interface MockUpstream {
  /** Base URL for an OpenAI client, e.g. "http://127.0.0.1:PORT/v1". */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order (tests read and clear it). */
  readonly requests: RecordedRequest[];
  /** Mutable: tests may set or replace it at runtime. */
  fault: MockUpstreamOptions['fault'];
  /** Requests that passed auth, by bearer key (requests without a key are not counted). */
  readonly hitsByKey: Map<string, number>;
  /** Stops the server and destroys open sockets, stalled ones included. */
  close(): Promise<void>;
}

export type Json = Record<string, unknown>;

/** What an endpoint answers; `deliver` writes it and applies faults. */
export type Plan =
  | { kind: 'json'; status: number; body: string; contentType?: string }
  /**
   * A body written in several writes (SSE events or audio bytes). `holdAt` is the index of the
   * first piece of the final content step (where faults cut or hold); `contentType` defaults to SSE.
   */
  | { kind: 'stream'; pieces: (string | Buffer)[]; holdAt: number; contentType?: string };

export interface Ctx {
  /** 1-based sequence number of the request on this server. */
  n: number;
  /** The bearer key the mock saw: the "account" that owns responses and encrypted content. */
  apiKey: string;
  rec: RecordedRequest;
  /** Path without the query string. */
  path: string;
  /** Path segment captured by a parameterised route (a response or model id), else ''. */
  param: string;
}

export interface State {
  streamChunks: number;
  /** Random per server: put in response ids so that two mocks never issue the same id. */
  instance: string;
  /** "apiKey\ncache key" pairs already answered: later requests with the same pair get cached tokens. */
  seenCacheKeys: Set<string>;
  responses: ResponseStore;
}

export type Handler = (ctx: Ctx, state: State) => Plan | Promise<Plan>;
