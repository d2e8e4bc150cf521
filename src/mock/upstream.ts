// Mock OpenAI-compatible upstream for tests, `npm run demo` and benchmarks.
//
// Replies are deterministic (echo + word-count "tokens") so tests can assert exact values,
// and `fault` lets a test script upstream misbehaviour per request. Because it is the fake
// upstream in benchmarks, the hot path avoids per-request work that is not needed: constant
// bodies are pre-built, responses are written straight to the Node response (hijacked), and
// stream chunks are assembled from pre-stringified prefixes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

export interface RecordedRequest {
  method: string;
  /** The request target as received (path plus query string, if any). */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
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

// ---------------------------------------------------------------------------------------------
// Constants

/** A valid 1x1 RGBA PNG: enough for clients that decode the image. */
export const MOCK_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** Output tokens billed per generated image (what gpt-image-1 bills for a low-quality square). */
export const IMAGE_OUTPUT_TOKENS = 272;
/** Prompt tokens charged per image part and per message (see countPromptTokens). */
export const TOKENS_PER_IMAGE_PART = 10;
export const TOKENS_PER_MESSAGE = 3;
export const MOCK_MODEL_IDS = ['gpt-4o', 'gpt-4o-mini', 'gpt-image-2', 'Doubao-1.5-pro-32k'] as const;

const MODELS_CREATED = 1_715_367_049;
const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: MOCK_MODEL_IDS.map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'mock' })),
});

const JSON_TYPE = 'application/json';
const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};
const DONE_EVENT = 'data: [DONE]\n\n';
/** Looks like JSON to a sniffing client but is not: what a broken proxy might send. */
const INVALID_JSON_BODY = '{"id":"chatcmpl-mock","object":"chat.completion","choices":[{';
const BAD_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
  'HTTP library correctly. The OpenAI Python library should send the correct JSON.)';
const NO_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
  'Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from ' +
  'https://platform.openai.com/account/api-keys.';

function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** Default bodies for `status` faults, shaped like OpenAI's for the common statuses. */
function faultStatusBody(status: number): string {
  if (status === 429) {
    return errorBody('Rate limit reached for requests (mock).', 'requests', 'rate_limit_exceeded');
  }
  if (status === 401) return errorBody('Incorrect API key provided (mock).', 'invalid_request_error', 'invalid_api_key');
  if (status >= 500) {
    return errorBody('The server had an error while processing your request (mock).', 'server_error', null);
  }
  return errorBody(`Mock upstream error ${status}.`, 'invalid_request_error', null);
}

function htmlPage(status: number): string {
  const title = status === 502 ? '502 Bad Gateway' : `${status} Error`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
const HTML_502 = htmlPage(502);

// ---------------------------------------------------------------------------------------------
// Deterministic "model"

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m === null ? 0 : m.length;
}

/** Text parts (joined with a space) and the number of image parts of one message's content. */
function readContent(content: unknown): { text: string; images: number; words: number } {
  if (typeof content === 'string') return { text: content, images: 0, words: countWords(content) };
  if (!Array.isArray(content)) return { text: '', images: 0, words: 0 };
  const texts: string[] = [];
  let images = 0;
  let words = 0;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'image_url') images++;
    else if (typeof part.text === 'string') {
      texts.push(part.text);
      words += countWords(part.text);
    }
  }
  return { text: texts.join(' '), images, words };
}

/**
 * Token accounting (deterministic, no tokenizer):
 *   prompt_tokens     = whitespace-separated words across all messages' text parts
 *                       + TOKENS_PER_IMAGE_PART (10) per image part + TOKENS_PER_MESSAGE (3) per message
 *   completion_tokens = words in the reply (for a tool call: words in "<name> <arguments>"), times n
 *   total_tokens      = prompt_tokens + completion_tokens
 */
function countPromptTokens(messages: unknown[]): number {
  let tokens = 0;
  for (const m of messages) {
    const c = readContent(isObject(m) ? m.content : undefined);
    tokens += c.words + c.images * TOKENS_PER_IMAGE_PART + TOKENS_PER_MESSAGE;
  }
  return tokens;
}

/** "Echo: " + text of the last user message (+ " [N image(s)]" when it has image parts). */
function echoReply(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isObject(m) || m.role !== 'user') continue;
    const c = readContent(m.content);
    const images = c.images === 0 ? '' : ` [${c.images} image${c.images === 1 ? '' : 's'}]`;
    return `Echo: ${c.text}${images}`;
  }
  return 'Echo: ';
}

interface ToolCall {
  name: string;
  arguments: string;
}

/** The tool call to make, or undefined when the request should get a text reply. */
function pickToolCall(body: Json): ToolCall | undefined {
  const { tools, tool_choice: choice } = body;
  if (!Array.isArray(tools) || tools.length === 0 || choice === 'none') return undefined;
  const fns = tools.filter((t): t is Json => isObject(t) && t.type === 'function' && isObject(t.function));
  const wanted = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  const tool = typeof wanted === 'string' ? fns.find((t) => (t.function as Json).name === wanted) : fns[0];
  if (tool === undefined) {
    // Named a tool that was not declared: still call it, with no arguments.
    return typeof wanted === 'string' ? { name: wanted, arguments: '{}' } : undefined;
  }
  const fn = tool.function as Json;
  const args: Record<string, string> = {};
  const required = isObject(fn.parameters) ? fn.parameters.required : undefined;
  if (Array.isArray(required)) for (const r of required) if (typeof r === 'string') args[r] = 'mock';
  return { name: typeof fn.name === 'string' ? fn.name : '', arguments: JSON.stringify(args) };
}

/** Splits text into `count` pieces (by code point, so no surrogate pair is cut) that concatenate back to it. */
function splitInto(text: string, count: number): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * chars.length) / count);
    const to = Math.floor(((i + 1) * chars.length) / count);
    pieces.push(chars.slice(from, to).join(''));
  }
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// Planned responses: endpoints describe the answer, deliver() writes it (and applies faults).

type Plan =
  | { kind: 'json'; status: number; body: string }
  /** `holdAt` is the index of the first event of the final content step (where faults cut or hold). */
  | { kind: 'sse'; events: string[]; holdAt: number };

const json = (status: number, body: string): Plan => ({ kind: 'json', status, body });

interface Ctx {
  n: number; // 1-based sequence number of the request on this server
  apiKey: string;
  rec: RecordedRequest;
}

interface State {
  streamChunks: number;
  /** "apiKey\nconversationId" pairs already answered: later requests get cached tokens. */
  seenConversations: Set<string>;
}

/** 400 for a body that is not a JSON object, worded like OpenAI's. */
function badBody(body: unknown): Plan {
  const message = body === undefined ? BAD_JSON_MESSAGE : 'The request body must be a JSON object.';
  return json(400, errorBody(message, 'invalid_request_error', null));
}

function chatCompletions(ctx: Ctx, state: State): Plan {
  const req = ctx.rec.body;
  if (!isObject(req)) return badBody(req);
  const messages = req.messages;
  if (!Array.isArray(messages)) {
    return json(
      400,
      errorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages'),
    );
  }
  const model = typeof req.model === 'string' ? req.model : '';
  const n = typeof req.n === 'number' && Number.isInteger(req.n) && req.n > 1 ? req.n : 1;
  const id = `chatcmpl-mock-${ctx.n}`;
  const created = Math.floor(Date.now() / 1000);
  const tool = pickToolCall(req);
  const content = tool === undefined ? echoReply(messages) : null;

  const promptTokens = countPromptTokens(messages);
  const replyWords = tool === undefined ? countWords(content ?? '') : countWords(`${tool.name} ${tool.arguments}`);
  const completionTokens = replyWords * n;
  // Cache warms per (key, conversation): shows sticky routing paying off in the demo.
  let cached = 0;
  const conv = ctx.rec.headers['x-conversation-id'];
  if (typeof conv === 'string' && conv !== '') {
    const key = `${ctx.apiKey}\n${conv}`;
    if (state.seenConversations.has(key)) cached = Math.floor(promptTokens * 0.75);
    else state.seenConversations.add(key);
  }
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  const toolCall =
    tool === undefined
      ? undefined
      : { id: `call_mock_${ctx.n}`, type: 'function', function: { name: tool.name, arguments: tool.arguments } };
  const finish = tool === undefined ? 'stop' : 'tool_calls';

  if (req.stream !== true) {
    const message =
      toolCall === undefined
        ? { role: 'assistant', content, refusal: null }
        : { role: 'assistant', content: null, tool_calls: [toolCall] };
    const choices = [];
    for (let i = 0; i < n; i++) choices.push({ index: i, message, logprobs: null, finish_reason: finish });
    return json(
      200,
      JSON.stringify({ id, object: 'chat.completion', created, model, choices, system_fingerprint: null, usage }),
    );
  }

  // Streaming: every chunk shares this prefix, so only the choices are stringified per chunk.
  const includeUsage = isObject(req.stream_options) && req.stream_options.include_usage === true;
  const head =
    `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},` +
    `"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
  const tail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  const events: string[] = [];
  // One event per choice per step, as OpenAI does for n > 1.
  const step = (delta: object, finishReason: string | null): void => {
    const d = JSON.stringify(delta);
    const f = finishReason === null ? 'null' : `"${finishReason}"`;
    for (let i = 0; i < n; i++) {
      events.push(`${head}[{"index":${i},"delta":${d},"logprobs":null,"finish_reason":${f}}]${tail}`);
    }
  };
  step({ role: 'assistant', content: '' }, null);
  let holdAt: number;
  if (toolCall === undefined) {
    const pieces = splitInto(content ?? '', state.streamChunks);
    holdAt = events.length + (pieces.length - 1) * n;
    for (const piece of pieces) step({ content: piece }, null);
  } else {
    holdAt = events.length;
    step({ tool_calls: [{ index: 0, ...toolCall }] }, null);
  }
  step({}, finish);
  if (includeUsage) events.push(`${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
  events.push(DONE_EVENT);
  return { kind: 'sse', events, holdAt };
}

function imageGenerations(ctx: Ctx): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  if (typeof body.prompt !== 'string') {
    return json(
      400,
      errorBody("Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt'),
    );
  }
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? body.n : 1;
  const inputTokens = countWords(body.prompt);
  const outputTokens = IMAGE_OUTPUT_TOKENS * n;
  const data = [];
  for (let i = 0; i < n; i++) data.push({ b64_json: MOCK_PNG_BASE64 });
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { image_tokens: 0, text_tokens: inputTokens },
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    output_tokens_details: { image_tokens: outputTokens, text_tokens: 0 },
  };
  return json(200, JSON.stringify({ created: Math.floor(Date.now() / 1000), data, usage }));
}

// ---------------------------------------------------------------------------------------------
// Writing responses

/** Resolves after `ms`, or early when the response closes (client gone): never leaves a timer behind. */
function sleep(ms: number, res: ServerResponse): Promise<void> {
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

function jsonHeaders(body: string, requestId: string): OutgoingHttpHeaders {
  return { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId };
}

function sendRaw(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string): void {
  res.writeHead(status, headers);
  res.end(body);
}

/** Writes the first half of `body`, then kills the connection once those bytes are out. */
function writeHalfThenReset(res: ServerResponse, body: string): void {
  res.write(body.slice(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
}

async function writeEvents(
  res: ServerResponse,
  events: string[],
  end: number,
  delayMs: number,
  hold?: { at: number; release: Promise<void> },
): Promise<boolean> {
  for (let i = 0; i < end; i++) {
    if (hold !== undefined && i === hold.at) await waitFor(hold.release, res);
    else if (delayMs > 0 && i > 0) await sleep(delayMs, res);
    if (res.closed || res.destroyed) return false; // client went away: stop writing
    res.write(events[i]);
  }
  return true;
}

async function deliver(
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
    const headers = jsonHeaders(plan.body, requestId);
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
        // No content-length: the body ends "cleanly" (chunked) but is truncated JSON.
        res.writeHead(plan.status, { 'content-type': JSON_TYPE, 'x-request-id': requestId });
        res.end(plan.body.slice(0, Math.floor(plan.body.length / 2)));
        return;
      default:
        sendRaw(res, plan.status, headers, plan.body);
        return;
    }
  }

  const { events, holdAt } = plan;
  res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestId });
  switch (fault?.kind) {
    case 'stall-after-headers':
      res.flushHeaders();
      return;
    case 'cut-stream':
      if (await writeEvents(res, events, holdAt, chunkDelayMs)) res.end();
      return;
    case 'reset-mid-body':
      if (await writeEvents(res, events, holdAt, chunkDelayMs)) {
        res.write('data: {"id":', () => res.socket?.destroy());
      }
      return;
    case 'hold-last-chunk':
      if (await writeEvents(res, events, events.length, chunkDelayMs, { at: holdAt, release: fault.release })) {
        res.end();
      }
      return;
    default:
      if (await writeEvents(res, events, events.length, chunkDelayMs)) res.end();
  }
}

/** Answers the fault kinds that replace the response entirely; returns false for the others. */
function sendReplacingFault(res: ServerResponse, fault: Fault, requestId: string): boolean {
  switch (fault.kind) {
    case 'status': {
      const body =
        fault.body === undefined
          ? faultStatusBody(fault.status)
          : typeof fault.body === 'string'
            ? fault.body
            : JSON.stringify(fault.body);
      sendRaw(res, fault.status, { ...jsonHeaders(body, requestId), ...fault.headers }, body);
      return true;
    }
    case 'html': {
      const status = fault.status ?? 502;
      const body = status === 502 ? HTML_502 : htmlPage(status);
      sendRaw(
        res,
        status,
        { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId },
        body,
      );
      return true;
    }
    case 'invalid-json':
      sendRaw(res, 200, jsonHeaders(INVALID_JSON_BODY, requestId), INVALID_JSON_BODY);
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export async function createMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const apiKeys = options.apiKeys === undefined ? undefined : new Set(options.apiKeys);
  const chunkDelayMs = Math.max(0, options.chunkDelayMs ?? 0);
  const record = options.recordRequests ?? true;
  const state: State = {
    streamChunks: Math.max(1, Math.floor(options.streamChunks ?? 5)),
    seenConversations: new Set(),
  };
  let seq = 0;

  // forceCloseConnections: close() must also kill stalled and held sockets, not wait for them.
  // bodyLimit: chat requests with inline base64 images are far bigger than fastify's 1 MiB default.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 * 1024 });
  // Keep every body as the exact string that arrived; JSON is parsed below so bad JSON can be
  // recorded and answered with OpenAI's envelope instead of fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const mock = {
    url: '',
    port: 0,
    requests: [] as RecordedRequest[],
    fault: options.fault,
    hitsByKey: new Map<string, number>(),
    close: () => app.close(),
  };

  app.all('/*', async (request, reply) => {
    reply.hijack(); // we write to the raw response: no serialization, bytes go out immediately
    const res = reply.raw;
    const n = ++seq;
    const requestId = `req_mock_${n}`;
    try {
      const rawBody = typeof request.body === 'string' ? request.body : '';
      let body: unknown;
      if (rawBody !== '') {
        try {
          body = JSON.parse(rawBody);
        } catch {
          body = undefined;
        }
      }
      const rec: RecordedRequest = { method: request.method, path: request.url, headers: request.headers, rawBody, body };
      if (record) mock.requests.push(rec);

      const auth = request.headers.authorization;
      const apiKey = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : '';
      if (apiKeys !== undefined && !apiKeys.has(apiKey)) {
        const err =
          apiKey === ''
            ? errorBody(NO_KEY_MESSAGE, 'invalid_request_error', null)
            : // Quoted verbatim (OpenAI shows short keys in full): lets gateway tests check redaction.
              errorBody(
                `Incorrect API key provided: ${apiKey}. You can find your API key at https://platform.openai.com/account/api-keys.`,
                'invalid_request_error',
                'invalid_api_key',
              );
        sendRaw(res, 401, jsonHeaders(err, requestId), err);
        return;
      }
      if (apiKey !== '') mock.hitsByKey.set(apiKey, (mock.hitsByKey.get(apiKey) ?? 0) + 1);

      const fault = mock.fault?.(rec);
      if (fault !== undefined && sendReplacingFault(res, fault, requestId)) return;

      const ctx: Ctx = { n, apiKey, rec };
      const q = request.url.indexOf('?');
      const path = q === -1 ? request.url : request.url.slice(0, q);
      let plan: Plan;
      if (request.method === 'POST' && path === '/v1/chat/completions') plan = chatCompletions(ctx, state);
      else if (request.method === 'POST' && path === '/v1/images/generations') plan = imageGenerations(ctx);
      else if (request.method === 'GET' && path === '/v1/models') plan = json(200, MODELS_BODY);
      else {
        const msg = `Unknown request URL: ${request.method} ${path}. Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.`;
        plan = json(404, errorBody(msg, 'invalid_request_error', 'unknown_url'));
      }
      await deliver(res, plan, fault, requestId, chunkDelayMs);
    } catch (err) {
      // A bug in the mock must not hang the test that hit it.
      if (res.headersSent) res.destroy();
      else {
        const body = errorBody(`Mock upstream bug: ${String(err)}`, 'server_error', null);
        sendRaw(res, 500, jsonHeaders(body, requestId), body);
      }
    }
  });

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  mock.port = address.port;
  mock.url = `http://${host}:${address.port}/v1`;
  return mock;
}
