// The mock speaks Anthropic's Messages API to the official SDK: plain and streamed answers, tool use,
// thinking blocks, prompt-cache usage, token counts and Anthropic-shaped errors.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_THINKING } from '../../src/mock/upstream.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

let mock: MockUpstream;
let client: Anthropic;
beforeAll(async () => {
  mock = await startMockUpstream({ apiKeys: ['sk-ant-mock'] });
  client = new Anthropic({ apiKey: 'sk-ant-mock', baseURL: mock.url.replace(/\/v1$/, ''), maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});

const cachedSystem = (ttl?: '1h'): Anthropic.TextBlockParam[] => [
  { type: 'text', text: 'You are a careful mock with a long system prompt', cache_control: { type: 'ephemeral', ...(ttl === undefined ? {} : { ttl }) } },
];

describe('mock Messages API', () => {
  it('answers a message with an echo and exact usage', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 5, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(mock.requests.at(-1)?.headers.authorization).toBe('Bearer sk-ant-mock');
  });

  it('takes the key in x-api-key, as Anthropic does', async () => {
    const byHeader = new Anthropic({ apiKey: null, defaultHeaders: { 'x-api-key': 'sk-ant-mock' }, baseURL: mock.url.replace(/\/v1$/, ''), maxRetries: 0 });
    const message = await byHeader.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: hi' }]);
    expect(mock.requests.at(-1)?.headers['x-api-key']).toBe('sk-ant-mock');
  });

  it('streams text whose final message matches the plain answer, usage in message_start and message_delta', async () => {
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'stream me please' }] });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Echo: stream me please' }]);
    expect(final.usage).toMatchObject({ input_tokens: 6, output_tokens: 4 });
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('calls a tool and thinks first when thinking is enabled', async () => {
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      messages: [{ role: 'user', content: 'weather?' }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: MOCK_THINKING });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'mock' } });
  });

  it('calls the tool the user names, with the backticked text as its argument, and answers the tool result with text', async () => {
    const tools: Anthropic.Tool[] = [
      { name: 'Agent', input_schema: { type: 'object', properties: { prompt: { type: 'string' } }, required: ['prompt'] } },
      { name: 'Read', input_schema: { type: 'object', properties: { file_path: { type: 'string' }, limit: { type: 'integer' } }, required: ['file_path'] } },
    ];
    // Claude Code's reminders name other tools (and quote other things): they are not the user's words.
    const prompt: Anthropic.ContentBlockParam[] = [
      { type: 'text', text: '<system-reminder>\nUse the Agent tool for `anything`.\n</system-reminder>' },
      { type: 'text', text: 'Use Read on `/tmp/notes.txt` please' },
    ];
    const call = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, tools, messages: [{ role: 'user', content: prompt }] });
    expect(call.stop_reason).toBe('tool_use');
    const use = call.content[0];
    expect(use).toMatchObject({ type: 'tool_use', name: 'Read', input: { file_path: '/tmp/notes.txt' } });
    if (use?.type !== 'tool_use') throw new Error('no tool use');

    const result: Anthropic.ToolResultBlockParam = { type: 'tool_result', tool_use_id: use.id, content: '1\tthe word is pineapple\n<system-reminder>\nnot output\n</system-reminder>' };
    const answer = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: call.content },
        { role: 'user', content: [result] },
        // A mid-conversation system message after the tool result still leaves it to answer.
        { role: 'system', content: 'Be brief.' } as unknown as Anthropic.MessageParam,
      ],
    });
    expect(answer.stop_reason).toBe('end_turn');
    expect(answer.content).toEqual([{ type: 'text', text: 'Tool output: 1\tthe word is pineapple' }]);
  });

  it('writes the prompt cache on the first request and reads it on the next, one-hour writes told apart', async () => {
    const ask = (): Promise<Anthropic.Message> =>
      client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, system: cachedSystem('1h'), messages: [{ role: 'user', content: 'hi' }] });
    const first = await ask();
    expect(first.usage).toMatchObject({ input_tokens: 4, cache_creation_input_tokens: 10, cache_read_input_tokens: 0, cache_creation: { ephemeral_1h_input_tokens: 10, ephemeral_5m_input_tokens: 0 } });
    const second = await ask();
    expect(second.usage).toMatchObject({ input_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 });
  });

  it('counts input tokens', async () => {
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', system: cachedSystem(), messages: [{ role: 'user', content: 'one two three' }] });
    expect(counted).toEqual({ input_tokens: 16 });
  });

  it('refuses in Anthropic envelopes: a bad key, a missing field, a scripted 529', async () => {
    const stranger = new Anthropic({ apiKey: 'sk-wrong', baseURL: mock.url.replace(/\/v1$/, ''), maxRetries: 0 });
    await expect(stranger.messages.create({ model: 'm', max_tokens: 1, messages: [] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const missing = await client.messages.create({ model: 'm', messages: [] } as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect((missing as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    mock.fault = () => ({ kind: 'status', status: 529 });
    try {
      const overloaded = await client.messages.create({ model: 'm', max_tokens: 1, messages: [] }).catch((e: unknown) => e);
      expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
      expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
      expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'overloaded_error' } });
    } finally {
      mock.fault = undefined;
    }
  });
});
