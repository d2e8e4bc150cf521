// Mock OpenAI-compatible upstream for tests, `npm run demo` and benchmarks.
//
// Replies are deterministic (echo + word-count "tokens") so tests can assert exact values,
// and `fault` lets a test script upstream misbehaviour per request. Because it is the fake
// upstream in benchmarks, the hot path avoids per-request work that is not needed: routes are
// one map lookup, responses are written straight to the Node response (hijacked), and stream
// chunks are assembled from pre-stringified prefixes.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { deliver, jsonHeaders, sendRaw, sendReplacingFault } from './deliver.js';
import { anthropicError, errorBody, NO_KEY_MESSAGE } from './errors.js';
import { MULTIPART_TYPE } from './multipart.js';
import { ResponseStore } from './responses/store.js';
import { findRoute, unknownUrl } from './routes.js';
import type { Ctx, MockUpstream, MockUpstreamOptions, Plan, RecordedRequest, State } from './types.js';

export type { Fault, MockUpstream, MockUpstreamOptions, RecordedRequest } from './types.js';
export { IMAGE_OUTPUT_TOKENS, MOCK_PNG_BASE64 } from './images.js';
export { MOCK_MODEL_IDS } from './models.js';
export { MOCK_THINKING } from './messages.js';
export { TOKENS_PER_IMAGE_PART, TOKENS_PER_MESSAGE } from './text.js';
export { AUDIO_BYTES_PER_SECOND, AUDIO_TOKENS_PER_SECOND } from './audio.js';
export { mockEmbedding } from './embeddings.js';
export { DEFAULT_MODERATION_MODEL } from './moderations.js';
export { COMPACTION_OUTPUT_TOKENS } from './responses/manage.js';
export { REASONING_TOKENS } from './responses/turn.js';
export { mockSpeechAudio, SPEECH_BYTES_PER_CHAR, type SpeechRequest } from './speech.js';

function parseJson(rawBody: string): unknown {
  if (rawBody === '') return undefined;
  try {
    return JSON.parse(rawBody);
  } catch {
    return undefined;
  }
}

function unauthorized(apiKey: string): string {
  if (apiKey === '') return errorBody(NO_KEY_MESSAGE, 'invalid_request_error', null);
  // Quoted verbatim (OpenAI shows short keys in full): lets gateway tests check redaction.
  return errorBody(
    `Incorrect API key provided: ${apiKey}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    'invalid_request_error',
    'invalid_api_key',
  );
}

export async function createMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const apiKeys = options.apiKeys === undefined ? undefined : new Set(options.apiKeys);
  const chunkDelayMs = Math.max(0, options.chunkDelayMs ?? 0);
  const record = options.recordRequests ?? true;
  const state: State = {
    streamChunks: Math.max(1, Math.floor(options.streamChunks ?? 5)),
    instance: `mock${randomBytes(3).toString('hex')}_`,
    seenCacheKeys: new Set(),
    responses: new ResponseStore(),
  };
  let seq = 0;

  // forceCloseConnections: close() must also kill stalled and held sockets, not wait for them.
  // bodyLimit: chat requests with inline base64 images are far bigger than fastify's 1 MiB default.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 * 1024 });
  // Keep every body exactly as it arrived; JSON is parsed below so bad JSON can be recorded and
  // answered with OpenAI's envelope instead of fastify's. Multipart bodies stay bytes (files).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(MULTIPART_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

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
      const raw = request.body;
      const { method, url, headers } = request;
      // Multipart bodies stay bytes; latin1 maps each byte to one character, so rawBody stays exact too.
      const rec: RecordedRequest = Buffer.isBuffer(raw)
        ? { method, path: url, headers, rawBody: raw.toString('latin1'), rawBytes: raw, body: undefined }
        : { method, path: url, headers, rawBody: typeof raw === 'string' ? raw : '', body: undefined };
      if (rec.rawBytes === undefined) rec.body = parseJson(rec.rawBody);
      if (record) mock.requests.push(rec);

      // Anthropic's paths take the key in x-api-key and answer in Anthropic's envelope.
      const anthropic = url.startsWith('/v1/messages');
      const auth = request.headers.authorization;
      const xApiKey = request.headers['x-api-key'];
      const apiKey = typeof xApiKey === 'string' ? xApiKey : auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : '';
      if (apiKeys !== undefined && !apiKeys.has(apiKey)) {
        const err = anthropic ? anthropicError('authentication_error', 'invalid x-api-key') : unauthorized(apiKey);
        sendRaw(res, 401, jsonHeaders(err, requestId), err);
        return;
      }
      if (apiKey !== '') mock.hitsByKey.set(apiKey, (mock.hitsByKey.get(apiKey) ?? 0) + 1);

      const fault = mock.fault?.(rec);
      if (fault !== undefined && sendReplacingFault(res, fault, requestId, anthropic)) return;

      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const route = findRoute(method, path);
      let plan: Plan;
      if (route === undefined) plan = unknownUrl(method, path);
      else {
        const ctx: Ctx = { n, apiKey, rec, path, param: route.param };
        plan = await route.handler(ctx, state);
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
