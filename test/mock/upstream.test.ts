// Tests of the mock upstream itself, over real HTTP, with undici and the official openai client.
import { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const KEY = 'sk-test-a';
const OTHER_KEY = 'sk-test-b';
const STREAM_CHUNKS = 4;

let mock: MockUpstream;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream({ apiKeys: [KEY, OTHER_KEY], streamChunks: STREAM_CHUNKS });
  client = new OpenAI({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});
afterEach(() => {
  mock.fault = undefined;
  mock.requests.length = 0;
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The JSON payloads of an SSE body, plus whether it ended with `data: [DONE]`. */
function parseSse(text: string): { chunks: Record<string, unknown>[]; done: boolean } {
  const datas = text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice(6);
    });
  const done = datas.at(-1) === '[DONE]';
  const chunks = (done ? datas.slice(0, -1) : datas).map((d) => JSON.parse(d) as Record<string, unknown>);
  return { chunks, done };
}

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
const contentOf = (chunks: Record<string, unknown>[]): string =>
  chunks.map((c) => (c as unknown as Chunk).choices[0]?.delta.content ?? '').join('');

const HELLO = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Hello there world' },
];
// prompt: (3 words + 3) + (3 words + 3) = 12; reply "Echo: Hello there world" = 4 words.
const HELLO_USAGE = {
  prompt_tokens: 12,
  completion_tokens: 4,
  total_tokens: 16,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0 },
};

describe('chat completions', () => {
  it('echoes the last user message with deterministic usage', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o');
    expect(res.id).toMatch(/^chatcmpl-mock-\d+$/);
    expect(res.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: 'Echo: Hello there world', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ]);
    expect(res.usage).toEqual(HELLO_USAGE);
  });

  it('puts usage last, sets x-request-id and records the exact raw body', async () => {
    const raw = '{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"hi"}]}';
    const res = await post('/chat/completions', raw);
    expect(res.status).toBe(200);
    expect(Object.keys(JSON.parse(res.text) as object).at(-1)).toBe('usage');
    const n = /^chatcmpl-mock-(\d+)$/.exec((JSON.parse(res.text) as { id: string }).id)?.[1];
    expect(res.headers['x-request-id']).toBe(`req_mock_${n}`);
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', rawBody: raw });
    expect(mock.requests[0]?.body).toEqual(JSON.parse(raw));
  });

  it('honours n', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO, n: 3 });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'Echo: Hello there world'],
      [1, 'Echo: Hello there world'],
      [2, 'Echo: Hello there world'],
    ]);
    expect(res.usage?.completion_tokens).toBe(12);
  });

  it('joins text parts and counts image parts', async () => {
    const image = { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,AAAA' } };
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is' }, image, { type: 'text', text: 'this' }, image] }],
    });
    expect(res.choices[0]?.message.content).toBe('Echo: What is this [2 images]');
    // prompt: 3 words + 2 images * 10 + 1 message * 3; completion: 6 words.
    expect(res.usage).toMatchObject({ prompt_tokens: 26, completion_tokens: 6, total_tokens: 32 });
  });

  it('reports cached tokens on repeat requests of the same (key, conversation)', async () => {
    const create = (apiKey: string, conv?: string) =>
      new OpenAI({ apiKey, baseURL: mock.url, maxRetries: 0 }).chat.completions.create(
        { model: 'gpt-4o', messages: HELLO },
        conv === undefined ? {} : { headers: { 'x-conversation-id': conv } },
      );
    const cached = async (apiKey: string, conv?: string) =>
      (await create(apiKey, conv)).usage?.prompt_tokens_details?.cached_tokens;
    expect(await cached(KEY, 'conv-cache')).toBe(0);
    expect(await cached(KEY, 'conv-cache')).toBe(9); // floor(12 * 0.75)
    expect(await cached(OTHER_KEY, 'conv-cache')).toBe(0); // other key: cold cache
    expect(await cached(OTHER_KEY, 'conv-cache')).toBe(9);
    expect(await cached(KEY)).toBe(0);
    expect(await cached(KEY)).toBe(0);
  });

  it('also warms the cache on a repeated prompt_cache_key when no conversation header is sent', async () => {
    const cached = async (key: string) =>
      (await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO, prompt_cache_key: key })).usage
        ?.prompt_tokens_details?.cached_tokens;
    expect(await cached('pck-chat')).toBe(0);
    expect(await cached('pck-chat')).toBe(9);
    expect(await cached('pck-chat-other')).toBe(0);
  });

  it('answers 400 in the OpenAI envelope for invalid JSON, and still records it', async () => {
    const res = await post('/chat/completions', '{"model": ');
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('could not parse the JSON body');
    expect(mock.requests[0]).toMatchObject({ rawBody: '{"model": ', body: undefined });
  });
});

describe('streaming', () => {
  it('streams chunks that concatenate to the reply, without usage by default', async () => {
    const res = await post('/chat/completions', { model: 'gpt-4o', messages: HELLO, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.text).not.toContain('usage');
    const { chunks, done } = parseSse(res.text);
    expect(done).toBe(true);
    // role chunk + STREAM_CHUNKS content chunks + finish chunk
    expect(chunks).toHaveLength(STREAM_CHUNKS + 2);
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'gpt-4o',
      system_fingerprint: null,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(contentOf(chunks)).toBe('Echo: Hello there world');
    expect(chunks.at(-1)).toMatchObject({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  });

  it('adds usage: null to every chunk and a final usage chunk with include_usage', async () => {
    const res = await post('/chat/completions', {
      model: 'gpt-4o',
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, done } = parseSse(res.text);
    expect(done).toBe(true);
    expect(chunks).toHaveLength(STREAM_CHUNKS + 3);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: HELLO_USAGE });
  });

  it('works with the openai client stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: Hello there world');
    expect(usage).toEqual(HELLO_USAGE);
  });

  it('streams a tool call', async () => {
    const res = await post('/chat/completions', {
      model: 'gpt-4o',
      messages: HELLO,
      stream: true,
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', required: ['q'] } } }],
    });
    const { chunks, done } = parseSse(res.text);
    expect(done).toBe(true);
    const call = chunks.map((c) => (c as unknown as Chunk).choices[0]?.delta.tool_calls?.[0]).filter((t) => t);
    expect(call).toEqual([{ index: 0, id: expect.stringMatching(/^call_mock_\d+$/), type: 'function', function: { name: 'lookup', arguments: '{"q":"mock"}' } }]);
    expect(chunks.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] });
  });
});

describe('tools', () => {
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: {}, unit: {}, days: {} }, required: ['city', 'unit'] },
      },
    },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', required: ['zone'] } } },
  ];

  it('calls the first function tool with required arguments set to "mock"', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO, tools });
    const choice = res.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_mock_\d+$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"mock","unit":"mock"}' },
      },
    ]);
    // completion: words in 'get_weather {"city":"mock","unit":"mock"}'
    expect(res.usage?.completion_tokens).toBe(2);
  });

  it('calls the tool named by tool_choice', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: HELLO,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function : undefined).toEqual({ name: 'get_time', arguments: '{"zone":"mock"}' });
  });

  it('calls the tool the user names, with the backticked text as its argument, and answers tool outputs with text', async () => {
    const ask: OpenAI.Chat.Completions.ChatCompletionMessageParam = { role: 'user', content: 'What is get_time in `Europe/Oslo`?' };
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [ask], tools });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function : undefined).toEqual({ name: 'get_time', arguments: '{"zone":"Europe/Oslo"}' });

    const answered = await client.chat.completions.create({
      model: 'gpt-4o',
      tools,
      // A system message after the tool output (an instruction for what follows) still leaves it to answer.
      messages: [ask, { role: 'assistant', content: null, tool_calls: [call!] }, { role: 'tool', tool_call_id: call!.id, content: '12:00' }, { role: 'system', content: 'Be brief.' }],
    });
    expect(answered.choices[0]?.message.content).toBe('Tool output: 12:00');
    expect(answered.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers with text when tool_choice is "none"', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO, tools, tool_choice: 'none' });
    expect(res.choices[0]?.message).toEqual({ role: 'assistant', content: 'Echo: Hello there world', refusal: null });
    expect(res.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('images and models', () => {
  it('generates n tiny PNGs with image usage', async () => {
    const res = await client.images.generate({ model: 'gpt-image-2', prompt: 'a small red fox', n: 2 });
    expect(res.data).toHaveLength(2);
    const png = Buffer.from(res.data?.[0]?.b64_json ?? '', 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1, 1]); // IHDR width, height
    expect(res.usage).toEqual({
      input_tokens: 4,
      input_tokens_details: { image_tokens: 0, text_tokens: 4 },
      output_tokens: 544,
      total_tokens: 548,
      output_tokens_details: { image_tokens: 544, text_tokens: 0 },
    });
    const raw = await post('/images/generations', { prompt: 'x' });
    expect(Object.keys(JSON.parse(raw.text) as object).at(-1)).toBe('usage');
  });

  it('lists a model of every kind', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m).toMatchObject({ object: 'model', owned_by: 'mock' });
      ids.push(m.id);
    }
    expect(ids.slice(0, 4)).toEqual(['gpt-4o', 'gpt-4o-mini', 'gpt-image-2', 'Doubao-1.5-pro-32k']);
    for (const id of ['gpt-5-codex', 'text-embedding-3-small', 'gpt-3.5-turbo-instruct', 'omni-moderation-latest']) {
      expect(ids).toContain(id);
    }
    for (const id of ['whisper-1', 'gpt-4o-transcribe', 'tts-1', 'gpt-4o-mini-tts']) expect(ids).toContain(id);
    expect(await client.models.retrieve('whisper-1')).toMatchObject({ id: 'whisper-1', object: 'model' });
    await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404 });
  });

  it('answers unknown paths with a 404 envelope', async () => {
    const res = await post('/nope', {});
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({
      error: { message: expect.stringContaining('/v1/nope'), type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  });
});

describe('auth', () => {
  it('rejects a wrong key with OpenAI 401 quoting the key', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong-123', baseURL: mock.url, maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'gpt-4o', messages: HELLO }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiErr = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(apiErr.status).toBe(401);
    expect(apiErr.code).toBe('invalid_api_key');
    expect(apiErr.message).toContain('Incorrect API key provided: sk-wrong-123.');
    expect(mock.requests).toHaveLength(1); // recorded even though rejected
  });

  it('rejects a missing key', async () => {
    const res = await request(`${mock.url}/models`);
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as { error: { message: string } }).error.message).toContain("didn't provide an API key");
  });

  it('counts hits by key', async () => {
    const before = (k: string) => mock.hitsByKey.get(k) ?? 0;
    const [a, b] = [before(KEY), before(OTHER_KEY)];
    const other = new OpenAI({ apiKey: OTHER_KEY, baseURL: mock.url, maxRetries: 0 });
    await Promise.all([client.models.list(), client.models.list(), other.models.list()]);
    expect(mock.hitsByKey.get(KEY)).toBe(a + 2);
    expect(mock.hitsByKey.get(OTHER_KEY)).toBe(b + 1);
  });
});

describe('faults', () => {
  const STREAM = { model: 'gpt-4o', messages: HELLO, stream: true };

  it('status: answers with the given status, body and headers', async () => {
    mock.fault = () => ({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');

    mock.fault = () => ({ kind: 'status', status: 500, body: { error: { message: 'boom' } } });
    const res = await post('/chat/completions', { model: 'gpt-4o', messages: HELLO });
    expect(res.status).toBe(500);
    expect(res.text).toBe('{"error":{"message":"boom"}}');
  });

  it('is consulted per request with the recorded request', async () => {
    mock.fault = (req) => (req.path === '/v1/models' ? { kind: 'status', status: 503 } : undefined);
    expect((await post('/chat/completions', { model: 'gpt-4o', messages: HELLO })).status).toBe(200);
    expect((await request(`${mock.url}/models`, { headers: { authorization: `Bearer ${KEY}` } })).statusCode).toBe(503);
  });

  it('html: an HTML error page, 502 by default', async () => {
    mock.fault = () => ({ kind: 'html' });
    const res = await post('/chat/completions', { model: 'gpt-4o', messages: HELLO });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.text).toContain('<h1>502 Bad Gateway</h1>');
    mock.fault = () => ({ kind: 'html', status: 503 });
    expect((await post('/chat/completions', {})).status).toBe(503);
  });

  it('invalid-json: 200 application/json that does not parse', async () => {
    mock.fault = () => ({ kind: 'invalid-json' });
    const res = await post('/chat/completions', { model: 'gpt-4o', messages: HELLO });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(res.text)).toThrow(SyntaxError);
  });

  it('stall-after-headers: headers arrive, the body never does, close() frees the socket', async () => {
    const own = await startMockUpstream({ fault: () => ({ kind: 'stall-after-headers' }) });
    try {
      for (const body of [{ messages: HELLO }, { messages: HELLO, stream: true }]) {
        const res = await request(`${own.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe(body.stream ? 'text/event-stream' : 'application/json');
        const text = res.body.text();
        text.catch(() => undefined);
        expect(await Promise.race([text, delay(100, 'stalled')])).toBe('stalled');
        if (body.stream) {
          await own.close();
          await expect(text).rejects.toThrow();
        } else {
          res.body.destroy();
        }
      }
    } finally {
      await own.close();
    }
  });

  it('reset-mid-body: the socket dies after part of the body', async () => {
    mock.fault = () => ({ kind: 'reset-mid-body' });
    await expect(post('/chat/completions', { model: 'gpt-4o', messages: HELLO })).rejects.toThrow();
    await expect(post('/chat/completions', STREAM)).rejects.toThrow();
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });

  it('cut-stream: ends the stream without [DONE] or a finish_reason', async () => {
    mock.fault = () => ({ kind: 'cut-stream' });
    const res = await post('/chat/completions', STREAM);
    expect(res.status).toBe(200);
    const { chunks, done } = parseSse(res.text);
    expect(done).toBe(false);
    expect(res.text).not.toContain('[DONE]');
    expect(res.text).not.toContain('"finish_reason":"stop"');
    const text = contentOf(chunks);
    expect(text.length).toBeGreaterThan(0);
    expect('Echo: Hello there world'.startsWith(text)).toBe(true);
    expect(text).not.toBe('Echo: Hello there world');
  });

  it('delay-headers: answers normally after the delay', async () => {
    mock.fault = () => ({ kind: 'delay-headers', ms: 150 });
    const started = performance.now();
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: HELLO });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.choices[0]?.message.content).toBe('Echo: Hello there world');
  });

  it('hold-last-chunk: streams all but the last content chunk until released', async () => {
    let release!: () => void;
    mock.fault = () => ({ kind: 'hold-last-chunk', release: new Promise<void>((r) => (release = r)) });
    const res = await request(`${mock.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...STREAM, stream_options: { include_usage: true } }),
    });
    let received = '';
    const reading = (async () => {
      for await (const piece of res.body) received += String(piece);
    })();
    await vi.waitFor(() => expect(parseSse(received).chunks).toHaveLength(STREAM_CHUNKS));
    const before = parseSse(received);
    expect(before.done).toBe(false);
    expect(before.chunks).toHaveLength(STREAM_CHUNKS); // role chunk + all content chunks but the last
    const partial = contentOf(before.chunks);
    expect(partial.length).toBeLessThan('Echo: Hello there world'.length);
    expect('Echo: Hello there world'.startsWith(partial)).toBe(true);

    release();
    await reading;
    const after = parseSse(received);
    expect(after.done).toBe(true);
    expect(contentOf(after.chunks)).toBe('Echo: Hello there world');
    expect(after.chunks.at(-1)).toMatchObject({ usage: HELLO_USAGE });
  });

  it('hold-last-chunk on a non-stream request waits before answering', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    mock.fault = (req) => ((req.body as { messages?: unknown[] }).messages === undefined ? undefined : { kind: 'hold-last-chunk', release: released });
    let answered = false;
    const from = mock.requests.length;
    const pending = client.chat.completions.create({ model: 'gpt-4o', messages: HELLO }).then((r) => {
      answered = true;
      return r;
    });
    // A request sent after it, and not held, is answered: the held one was not.
    await vi.waitFor(() => expect(mock.requests.length).toBeGreaterThan(from));
    expect((await client.embeddings.create({ model: 'text-embedding-3-small', input: 'marker' })).data).toHaveLength(1);
    expect(answered).toBe(false);
    release();
    expect((await pending).choices[0]?.message.content).toBe('Echo: Hello there world');
  });
});

describe('chunk delay', () => {
  it('spaces chunks out and stops writing when the client disconnects', async () => {
    const slow = await startMockUpstream({ streamChunks: 50, chunkDelayMs: 20 });
    // Every server-side write in this process goes through here; only the mock is serving now.
    const writes = vi.spyOn(ServerResponse.prototype, 'write');
    try {
      const body = JSON.stringify({ model: 'm', messages: HELLO, stream: true });
      const socket = connect(slow.port, '127.0.0.1');
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const started = performance.now();
      let received = '';
      await new Promise<void>((resolve) => {
        socket.on('data', (d: Buffer) => {
          received += d.toString();
          if (received.split('data: ').length - 1 >= 3) {
            socket.destroy();
            resolve();
          }
        });
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(30); // >= 2 delays between 3 events
      // The one response written so far; once the server has seen its client go, it must write no more.
      const cut = writes.mock.contexts[0] as ServerResponse;
      if (!cut.closed) await new Promise((resolve) => cut.once('close', resolve));
      const writesOfCut = (): number => writes.mock.contexts.filter((context) => context === cut).length;
      const afterDisconnect = writesOfCut();
      // Six events of a second stream take five chunk delays: a writer that kept going would have written again.
      const second = await request(`${slow.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let seen = '';
      for await (const piece of second.body) {
        seen += String(piece);
        if (seen.split('data: ').length - 1 >= 6) break;
      }
      expect(writesOfCut()).toBe(afterDisconnect);
      expect(afterDisconnect).toBeLessThan(10);
    } finally {
      writes.mockRestore();
      await slow.close();
    }
  });
});
