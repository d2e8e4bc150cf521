// The official Anthropic client on a chat model (gpt-5.3-codex) through a real listening gateway in front of
// the mock's chat completions: answers plain and streamed, tool use, sticky sessions, token counts, errors,
// and the usage and cost the gateway records, exactly as for a Claude model.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Usage } from '../../src/proxy/usage.js';
import { ANTHROPIC_KEYS, anthropicClient, apiFailure } from '../helpers/anthropic.js';
import { costCheck, eventually } from '../helpers/cost-check.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { databaseUsd } from '../helpers/genai-prices.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { find } from '../helpers/prometheus.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const OPENAI_KEYS = { a: 'sk-upstream-secret-a-0123456789', b: 'sk-upstream-secret-b-0123456789' } as const;
const MODEL = 'gpt-5.3-codex';
const KEYS = ['plain', 'streamed', 'left', 'other'] as const;
const keyOf = (name: string): string => `gw-translate-key-${name}`;
const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello there' }];
const lookup: Anthropic.Tool = { name: 'lookup', description: 'Looks a word up', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } };

describe('a chat model on /v1/messages, through the Anthropic client', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  const { expectCost, scrape } = costCheck(() => gateway, ADMIN_TOKEN);
  const client = (name: string = 'other'): Anthropic => anthropicClient(gateway, keyOf(name));
  const logLine = (name: string): Promise<Record<string, unknown>> =>
    eventually(() => gateway.logs.lines.find((l) => l.clientKey === name && l.tokens !== undefined), `${name}'s log line`);
  const lastChatRequest = (): Record<string, unknown> => {
    const sent = mock.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    return sent.body as Record<string, unknown>;
  };

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [ANTHROPIC_KEYS.a, OPENAI_KEYS.a, OPENAI_KEYS.b] });
    gateway = await startGateway(
      testConfig(mock.url, {
        adminToken: ADMIN_TOKEN,
        clientKeys: [...KEYS.map((name) => ({ name, key: keyOf(name) })), { name: 'claude-only', key: keyOf('claude-only'), models: ['claude-sonnet-4-5'] }],
        upstreams: [
          { name: 'anthropic', api: 'anthropic', baseUrl: mock.url, models: ['claude-sonnet-4-5'], accounts: [{ name: 'claude-a', apiKey: ANTHROPIC_KEYS.a }] },
          { name: 'openai', baseUrl: mock.url, models: [MODEL, 'text-embedding-3-small'], accounts: [{ name: 'acct-a', apiKey: OPENAI_KEYS.a }] },
          { name: 'openai-pair', baseUrl: mock.url, models: ['gpt-5.2-codex'], accounts: [{ name: 'pair-a', apiKey: OPENAI_KEYS.a }, { name: 'pair-b', apiKey: OPENAI_KEYS.b }] },
        ],
      }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });
  afterEach(() => {
    mock.fault = undefined;
  });

  it('creates a message: sent to chat completions with the account key, answered as a Message, counted and priced as the chat model', async () => {
    const message = await client('plain').messages.create({ model: MODEL, max_tokens: 100, system: 'Be brief, please.', messages: hello });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'Echo: Hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 11, cache_read_input_tokens: 0, output_tokens: 3 },
    });
    expect(message.id).toMatch(/^msg_/);
    expect(lastChatRequest()).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief, please.' },
        { role: 'user', content: 'Hello there' },
      ],
      max_completion_tokens: 100,
    });
    const sent = mock.requests.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_KEYS.a}`);
    expect(sent.headers['x-api-key']).toBeUndefined();

    // The mock counts a word a token and 3 a message: "Be brief, please." and "Hello there", then "Echo: Hello there".
    const usage: Usage = { prompt: 11, completion: 3, cached: 0, reasoning: 0, total: 14 };
    expect((await logLine('plain')).tokens).toEqual({ prompt: 11, completion: 3, cached: 0, reasoning: 0, total: 14 });
    expect(await logLine('plain')).toMatchObject({ model: MODEL, status: 200, account: 'acct-a' });
    await expectCost('plain', MODEL, databaseUsd(usage, MODEL, 'openai'));
    const tokens = find(await scrape(), 'gateway_tokens_total', { client_key: 'plain' });
    expect(Object.fromEntries(tokens.map((s) => [s.labels.type, s.value]))).toEqual({ prompt: 11, completion: 3, cached: 0, reasoning: 0 });
    expect(tokens.every((s) => s.labels.endpoint === '/v1/messages' && s.labels.model === MODEL)).toBe(true);
  });

  it('streams a tool call: a tool_use block with its input, stop_reason tool_use, the usage in message_delta', async () => {
    const stream = client('streamed').messages.stream({ model: MODEL, max_tokens: 2000, tools: [lookup], thinking: { type: 'enabled', budget_tokens: 10_000 }, messages: hello });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^call_mock_/), name: 'lookup', input: { q: 'mock' } }]);
    expect(final.stop_reason).toBe('tool_use');
    // "lookup" and its arguments, as the mock counts them.
    expect(final.usage).toMatchObject({ input_tokens: 5, cache_read_input_tokens: 0, output_tokens: 2 });
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(lastChatRequest()).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: 'medium',
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks a word up', parameters: lookup.input_schema } }],
    });
    expect(await logLine('streamed')).toMatchObject({ model: MODEL, status: 200, tokens: { prompt: 5, completion: 2, cached: 0, reasoning: 0, total: 7 } });
    await expectCost('streamed', MODEL, databaseUsd({ prompt: 5, completion: 2, cached: 0, reasoning: 0, total: 7 }, MODEL, 'openai'));
  });

  it('sends the tool loop back as tool calls and tool messages, and streams the text answer', async () => {
    const messages: Anthropic.MessageParam[] = [
      ...hello,
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_mock_1', name: 'lookup', input: { q: 'mock' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_mock_1', content: 'found it' }, { type: 'text', text: 'Summarise' }] },
    ];
    const stream = client().messages.stream({ model: MODEL, max_tokens: 100, tools: [lookup], tool_choice: { type: 'none' }, messages });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Echo: Summarise' }]);
    expect(texts.join('')).toBe('Echo: Summarise');
    expect(texts.length).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('end_turn');
    expect(lastChatRequest().messages).toEqual([
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_mock_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"mock"}' } }] },
      { role: 'tool', tool_call_id: 'call_mock_1', content: 'found it' },
      { role: 'user', content: 'Summarise' },
    ]);
  });

  it("reports the chat answer's cached tokens as cache reads", async () => {
    const options = { headers: { 'x-conversation-id': 'translate-cache' } };
    await client().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'one two three four five' }] }, options);
    const second = await client().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'one two three four five' }] }, options);
    // 8 prompt tokens, three quarters of them cached the second time.
    expect(second.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 6, cache_creation_input_tokens: 0 });
  });

  it('keeps a Claude Code session on one account (x-claude-code-session-id), as for a Claude model', async () => {
    const accounts = new Set<string | null>();
    for (let i = 0; i < 4; i++) {
      const { response } = await client()
        .messages.create({ model: 'gpt-5.2-codex', max_tokens: 10, messages: hello }, { headers: { 'x-claude-code-session-id': 'session-1' } })
        .withResponse();
      accounts.add(response.headers.get('x-gateway-account'));
    }
    expect(accounts.size).toBe(1);
    const unpinned = new Set<string | null>();
    for (let i = 0; i < 4; i++) {
      const { response } = await client().messages.create({ model: 'gpt-5.2-codex', max_tokens: 10, messages: hello }).withResponse();
      unpinned.add(response.headers.get('x-gateway-account'));
    }
    expect(unpinned).toEqual(new Set(['pair-a', 'pair-b']));
  });

  it('counts tokens here with the model tokenizer, without going upstream', async () => {
    const before = mock.requests.length;
    const counted = await client().messages.countTokens({ model: MODEL, messages: hello });
    // "Hello there" is 2 tokens in o200k_base, and a message's framing and the reply's priming 3 each.
    expect(counted).toEqual({ input_tokens: 8 });
    expect(mock.requests.length).toBe(before);
  });

  it('refuses what cannot be translated with a BadRequestError naming it, before going upstream', async () => {
    const before = mock.requests.length;
    const error = await apiFailure(client().messages.create({ model: MODEL, max_tokens: 10, messages: hello, top_k: 5 } as Anthropic.MessageCreateParamsNonStreaming));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: "Invalid value for 'top_k': 'top_k' cannot be translated to chat completions, which this model is served by." },
    });
    const document = await apiFailure(
      client().messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }),
    );
    expect(document.message).toContain("'messages[0].content[0].type'");
    expect(mock.requests.length).toBe(before);
  });

  it('still refuses a model the key may not use, and a model of another kind', async () => {
    expect(await apiFailure(anthropicClient(gateway, keyOf('claude-only')).messages.create({ model: MODEL, max_tokens: 1, messages: hello }))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const embedding = await apiFailure(client().messages.create({ model: 'text-embedding-3-small', max_tokens: 1, messages: hello }));
    expect(embedding).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it("tells an upstream error in Anthropic's envelope, in the class its status has", async () => {
    mock.fault = () => ({ kind: 'status', status: 400, body: { error: { message: "Unsupported parameter: 'stop'", type: 'invalid_request_error', param: 'stop', code: null } } });
    const error = await apiFailure(client().messages.create({ model: MODEL, max_tokens: 10, stop_sequences: ['END'], messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: "Unsupported parameter: 'stop'" } });
  });

  it('ends a stream cut mid-way with an error event the client raises', async () => {
    mock.fault = (req) => ((req.body as { stream?: boolean }).stream === true ? { kind: 'reset-mid-body' } : undefined);
    const error = await apiFailure(client().messages.stream({ model: MODEL, max_tokens: 100, messages: hello }).finalMessage());
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('charges a client that leaves mid-stream an estimate of the prompt and of the output delivered', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    mock.fault = () => ({ kind: 'hold-last-chunk', release: held });
    try {
      const stream = client('left').messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'tell me a long story' }] });
      for await (const event of stream) if (event.type === 'content_block_delta') break;
      const line = (await logLine('left')) as { status: number; usageEstimated: boolean; tokens: Record<string, number> };
      expect(line).toMatchObject({ status: 499, usageEstimated: true });
      // "tell me a long story" is 5 tokens in o200k_base, with 3 of framing and 3 of priming.
      expect(line.tokens.prompt).toBe(11);
      expect(line.tokens.completion).toBeGreaterThanOrEqual(1);
      const usage: Usage = { prompt: 11, completion: line.tokens.completion!, cached: 0, reasoning: 0, total: 11 + line.tokens.completion! };
      await expectCost('left', MODEL, databaseUsd(usage, MODEL, 'openai'), 499);
    } finally {
      release();
    }
  });
});
