// The mock's Responses API, driven by the official openai client over real HTTP.
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const KEY = 'sk-resp-a';
const OTHER_KEY = 'sk-resp-b';
const CHUNKS = 3;

let mock: MockUpstream;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream({ apiKeys: [KEY, OTHER_KEY], streamChunks: CHUNKS });
  client = new OpenAI({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 });
  other = new OpenAI({ apiKey: OTHER_KEY, baseURL: mock.url, maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});
afterEach(() => {
  mock.fault = undefined;
  mock.requests.length = 0;
});

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
  strict: false,
};

async function postRaw(path: string, body: unknown, key = KEY): Promise<{ status: number; text: string; type: string }> {
  const res = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, text: await res.body.text(), type: String(res.headers['content-type']) };
}

describe('POST /v1/responses', () => {
  it('answers plain requests with the echo, the settings echoed back and exact usage', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: 'Hello there world', instructions: 'Be terse' });
    expect(res.id).toMatch(/^resp_/);
    expect(res).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4o', instructions: 'Be terse', store: true });
    expect(res.output_text).toBe('Echo: Hello there world');
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    // input: message (3 words + 3) + instructions (2 words + 3) = 11; output: 4 words.
    expect(res.usage).toEqual({
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15,
    });
  });

  it('streams OpenAI event order with event lines, sequence numbers and no [DONE]', async () => {
    const raw = await postRaw('/responses', { model: 'gpt-4o', input: 'Hello there world', stream: true });
    expect(raw.status).toBe(200);
    expect(raw.type).toBe('text/event-stream');
    expect(raw.text).not.toContain('[DONE]');
    const blocks = raw.text.split('\n\n').filter((b) => b !== '');
    const events = blocks.map((b) => {
      const [eventLine, dataLine, ...rest] = b.split('\n');
      expect(rest).toEqual([]);
      const data = JSON.parse((dataLine ?? '').replace(/^data: /, '')) as { type: string; sequence_number: number };
      expect(eventLine).toBe(`event: ${data.type}`);
      return data;
    });
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(CHUNKS).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_e, i) => i));
  });

  it('works with the SDK stream helper, deltas adding up to the final response', async () => {
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'Hello there world' });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(text).toBe('Echo: Hello there world');
    expect(final.output_text).toBe('Echo: Hello there world');
    expect(final.usage?.output_tokens).toBe(4);
  });

  it('gives reasoning items sealed for the account, reasoning tokens, and refuses them from another account', async () => {
    const res = await client.responses.create({
      model: 'gpt-5',
      input: 'Hello there world',
      reasoning: { effort: 'high' },
      include: ['reasoning.encrypted_content'],
      store: false,
    });
    const reasoning = res.output[0];
    expect(reasoning?.type).toBe('reasoning');
    if (reasoning?.type !== 'reasoning') throw new Error('no reasoning item');
    expect(reasoning.encrypted_content).toMatch(/^gAAAA/);
    expect(res.usage?.output_tokens_details.reasoning_tokens).toBe(32);
    expect(res.usage?.output_tokens).toBe(4 + 32);

    const next: OpenAI.Responses.ResponseInputItem[] = [
      reasoning,
      { role: 'assistant', content: res.output_text },
      { role: 'user', content: 'Again' },
    ];
    const again = await client.responses.create({ model: 'gpt-5', input: next, store: false });
    expect(again.output_text).toBe('Echo: Again');
    const err = await other.responses.create({ model: 'gpt-5', input: next }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_encrypted_content', type: 'invalid_request_error' });
  });

  it('reasons by default on reasoning models (medium), not on others, and never with effort none', async () => {
    const tokens = async (model: string, effort?: 'none' | 'low') =>
      (await client.responses.create({ model, input: 'hi', ...(effort ? { reasoning: { effort } } : {}) })).usage
        ?.output_tokens_details.reasoning_tokens;
    expect(await tokens('gpt-5-codex')).toBe(16);
    expect(await tokens('gpt-5', 'low')).toBe(8);
    expect(await tokens('gpt-5', 'none')).toBe(0);
    expect(await tokens('gpt-4o')).toBe(0);
    const plain = await client.responses.create({ model: 'o4-mini', input: 'hi' });
    expect(plain.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [] });
  });

  it('calls a function the input asks for, then answers its output (chained by previous_response_id)', async () => {
    const first = await client.responses.create({
      model: 'gpt-4o',
      input: 'Use get_weather for `Paris`',
      tools: [WEATHER_TOOL],
    });
    const call = first.output[0];
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    if (call?.type !== 'function_call') throw new Error('no call');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris', days: 1 });
    const second = await client.responses.create({
      model: 'gpt-4o',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny 22C' }],
      tools: [WEATHER_TOOL],
    });
    expect(second.output_text).toBe('Tool output: Sunny 22C');
    expect(second.previous_response_id).toBe(first.id);
    // The previous response's input + output come first: (4 words + 3) + (3 words) + 2 output words.
    expect(second.usage?.input_tokens).toBe((first.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0) + 2);
  });

  it('answers text when no tool is named, and calls the first tool when tool_choice is "required"', async () => {
    const plain = await client.responses.create({ model: 'gpt-4o', input: 'Hello', tools: [WEATHER_TOOL] });
    expect(plain.output_text).toBe('Echo: Hello');
    const forced = await client.responses.create({ model: 'gpt-4o', input: 'Hello', tools: [WEATHER_TOOL], tool_choice: 'required' });
    expect(forced.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"mock","days":1}' });
  });

  it('streams function calls through the SDK helper', async () => {
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'get_weather `Oslo`', tools: [WEATHER_TOOL] });
    const types: string[] = [];
    stream.on('event', (e: ResponseStreamEvent) => types.push(e.type));
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'function_call', arguments: '{"city":"Oslo","days":1}' });
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types).toContain('response.function_call_arguments.done');
  });

  it('reports cached tokens when a prompt_cache_key comes back on the same account', async () => {
    const cached = async (c: OpenAI) =>
      (await c.responses.create({ model: 'gpt-4o', input: 'one two three four five', prompt_cache_key: 'pck-1' })).usage
        ?.input_tokens_details.cached_tokens;
    expect(await cached(client)).toBe(0);
    expect(await cached(client)).toBe(6); // floor(8 * 0.75)
    expect(await cached(other)).toBe(0);
  });

  it('refuses a body that is not an object and an input of the wrong type', async () => {
    const bad = await postRaw('/responses', 'nope');
    expect(bad.status).toBe(400);
    const wrong = await postRaw('/responses', { model: 'gpt-4o', input: 42 });
    expect(JSON.parse(wrong.text)).toMatchObject({ error: { param: 'input', code: 'invalid_type' } });
  });

  it('cut-stream ends a Responses stream before response.completed', async () => {
    mock.fault = () => ({ kind: 'cut-stream' });
    const raw = await postRaw('/responses', { model: 'gpt-4o', input: 'Hello there world', stream: true });
    expect(raw.text).toContain('response.output_text.delta');
    expect(raw.text).not.toContain('response.completed');
  });
});

describe('stored responses', () => {
  it('are retrievable, listable and deletable only from their account', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: [{ role: 'user', content: 'first' }, { role: 'user', content: 'second' }] });
    expect((await client.responses.retrieve(res.id)).output_text).toBe('Echo: second');
    await expect(other.responses.retrieve(res.id)).rejects.toMatchObject({ status: 404 });
    await expect(other.responses.delete(res.id)).rejects.toMatchObject({ status: 404 });
    await expect(other.responses.inputItems.list(res.id)).rejects.toMatchObject({ status: 404 });

    const items = await client.responses.inputItems.list(res.id);
    expect(items.data.map((i) => (i.type === 'message' ? i.content : null))).toEqual([
      [{ type: 'input_text', text: 'second' }],
      [{ type: 'input_text', text: 'first' }],
    ]);
    const asc = await client.responses.inputItems.list(res.id, { order: 'asc', limit: 1 });
    expect(asc.data).toHaveLength(1);
    expect(asc.has_more).toBe(true);

    await client.responses.delete(res.id);
    await expect(client.responses.retrieve(res.id)).rejects.toMatchObject({ status: 404 });
  });

  it('answers previous_response_id of another account or unknown with previous_response_not_found', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: 'hi' });
    for (const [c, id] of [[other, res.id], [client, 'resp_unknown']] as const) {
      const err = await c.responses.create({ model: 'gpt-4o', input: 'x', previous_response_id: id }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
    }
  });

  it('are not kept with store: false', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: 'hi', store: false });
    await expect(client.responses.retrieve(res.id)).rejects.toMatchObject({ status: 404 });
  });

  it('background responses are queued, can be cancelled, and finish when looked at otherwise', async () => {
    const a = await client.responses.create({ model: 'gpt-4o', input: 'hi', background: true });
    expect(a.status).toBe('queued');
    expect((await client.responses.cancel(a.id)).status).toBe('cancelled');
    expect((await client.responses.retrieve(a.id)).status).toBe('cancelled');
    await expect(other.responses.cancel(a.id)).rejects.toMatchObject({ status: 404 });
    const b = await client.responses.create({ model: 'gpt-4o', input: 'hi', background: true });
    const done = await client.responses.retrieve(b.id);
    expect(done).toMatchObject({ status: 'completed', output_text: 'Echo: hi' });
    const plain = await client.responses.create({ model: 'gpt-4o', input: 'hi' });
    await expect(client.responses.cancel(plain.id)).rejects.toMatchObject({ status: 400 });
  });
});

describe('input_tokens and compact', () => {
  it('counts input tokens like create does', async () => {
    const count = await client.responses.inputTokens.count({ model: 'gpt-4o', input: 'Hello there world', instructions: 'Be terse' });
    expect(count).toEqual({ object: 'response.input_tokens', input_tokens: 11 });
  });

  it('compacts into user messages plus a compaction item only the same account may send back', async () => {
    const compacted = await client.responses.compact({
      model: 'gpt-5-codex',
      input: [
        { role: 'user', content: 'Hello there world' },
        { role: 'assistant', content: 'Echo: Hello there world' },
      ],
    });
    expect(compacted.object).toBe('response.compaction');
    expect(compacted.output.map((i) => i.type)).toEqual(['message', 'compaction']);
    expect(compacted.usage.output_tokens).toBe(16);
    const item = compacted.output[1];
    if (item?.type !== 'compaction') throw new Error('no compaction item');
    const input = [{ type: 'compaction' as const, encrypted_content: item.encrypted_content }, { role: 'user' as const, content: 'go on' }];
    expect((await client.responses.create({ model: 'gpt-5-codex', input })).output_text).toBe('Echo: go on');
    await expect(other.responses.create({ model: 'gpt-5-codex', input })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_encrypted_content',
    });
    await expect(other.responses.compact({ model: 'gpt-5-codex', input })).rejects.toMatchObject({ status: 400 });
  });
});
