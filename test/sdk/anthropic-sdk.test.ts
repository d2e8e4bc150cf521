// The official Anthropic client against a real listening gateway in front of an Anthropic upstream (the
// mock): messages plain and streamed, token counts, and every error in the class the client raises.
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEYS, anthropicClient, anthropicConfig, apiFailure } from '../helpers/anthropic.js';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';

const LIMITED_KEY = 'gw-test-key-anthropic-limited';
const GPT_ONLY_KEY = 'gw-test-key-anthropic-gpt-only';

const running = useGatewayWithMock(
  (url) =>
    anthropicConfig(url, {
      clientKeys: [
        { name: 'team-alpha', key: CLIENT_KEY },
        { name: 'team-limited', key: LIMITED_KEY, limits: { requestsPerMinute: 1 } },
        { name: 'team-gpt', key: GPT_ONLY_KEY, models: ['gpt-4o'] },
      ],
    }),
  { apiKeys: [ANTHROPIC_KEYS.a, ANTHROPIC_KEYS.b] },
);

afterEach(() => {
  running.mock.fault = undefined;
});

const MODEL = 'claude-sonnet-4-5';
const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello there' }];

describe('the Anthropic client against a real gateway', () => {
  it('creates a message with the key in x-api-key; the account key goes upstream as x-api-key', async () => {
    const message = await anthropicClient(running.gateway).messages.create({ model: MODEL, max_tokens: 100, messages: hello });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Hello there' }]);
    const sent = running.mock.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(Object.values(ANTHROPIC_KEYS)).toContain(sent.headers['x-api-key']);
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('takes the key as Authorization: Bearer too', async () => {
    const message = await anthropicClient(running.gateway, CLIENT_KEY, 'bearer').messages.create({ model: MODEL, max_tokens: 100, messages: hello });
    expect(message.stop_reason).toBe('end_turn');
  });

  it('streams a message, thinking and tool use included', async () => {
    const stream = anthropicClient(running.gateway).messages.stream({
      model: MODEL,
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }],
      messages: hello,
    });
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']);
    expect(final.content[1]).toMatchObject({ name: 'lookup', input: { q: 'mock' } });
  });

  it('counts tokens', async () => {
    const counted = await anthropicClient(running.gateway).messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }] });
    expect(counted).toEqual({ input_tokens: 6 });
    expect(running.mock.requests.at(-1)!.path).toBe('/v1/messages/count_tokens');
  });

  it('forwards anthropic-version and anthropic-beta unchanged, and ?beta=true', async () => {
    const client = anthropicClient(running.gateway);
    await client.messages.create(
      { model: MODEL, max_tokens: 10, messages: hello },
      { headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' }, query: { beta: 'true' } },
    );
    const sent = running.mock.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages?beta=true');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14');
  });

  it('sends anthropic-version 2023-06-01 upstream when the client sent none', async () => {
    const response = await fetch(`${running.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': CLIENT_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: hello }),
    });
    expect(response.status).toBe(200);
    expect(running.mock.requests.at(-1)!.headers['anthropic-version']).toBe('2023-06-01');
  });
});

describe('errors, each in the class the Anthropic client raises', () => {
  it('AuthenticationError for a wrong or missing key', async () => {
    const wrong = await apiFailure(anthropicClient(running.gateway, 'gw-wrong').messages.create({ model: MODEL, max_tokens: 1, messages: hello }));
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(wrong.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Incorrect API key provided.' } });
    const none = await fetch(`${running.gateway.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('PermissionDeniedError for a model the key may not use', async () => {
    const error = await apiFailure(anthropicClient(running.gateway, GPT_ONLY_KEY).messages.create({ model: MODEL, max_tokens: 1, messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
  });

  it('passes a system message in the conversation upstream as sent (mid-conversation system messages)', async () => {
    const messages = [...hello, { role: 'system', content: [{ type: 'text', text: 'From here on, be brief.' }] }];
    const message = await anthropicClient(running.gateway).messages.create({ model: MODEL, max_tokens: 10, messages } as unknown as Anthropic.MessageCreateParamsNonStreaming);
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Hello there' }]);
    expect((running.mock.requests.at(-1)!.body as { messages: unknown }).messages).toEqual(messages);
  });

  it('NotFoundError for an unknown model and an unknown path', async () => {
    const error = await apiFailure(anthropicClient(running.gateway).messages.create({ model: 'claude-nonexistent', max_tokens: 1, messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('claude-nonexistent') } });
    const path = await fetch(`${running.gateway.url}/v1/messages/nothing-here`, { method: 'POST', headers: { 'x-api-key': CLIENT_KEY } });
    expect(path.status).toBe(404);
    expect(await path.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it.each([
    ['max_tokens missing', { model: MODEL, messages: hello }, 'max_tokens'],
    ['messages missing', { model: MODEL, max_tokens: 1 }, 'messages'],
    ['a role that is not user, assistant or system', { model: MODEL, max_tokens: 1, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    ['a block of an unknown type', { model: MODEL, max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'txet', text: 'x' }] }] }, 'messages[0].content'],
    ['max_tokens of zero', { model: MODEL, max_tokens: 0, messages: hello }, 'max_tokens'],
  ])('BadRequestError for %s, naming the field', async (_name, body, param) => {
    const error = await apiFailure(anthropicClient(running.gateway).messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(param) } });
  });

  it('BadRequestError for an embedding model, which this endpoint does not serve (chat models it translates)', async () => {
    const error = await apiFailure(anthropicClient(running.gateway).messages.create({ model: 'text-embedding-3-small', max_tokens: 1, messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.message).toContain('/v1/embeddings');
  });

  it('RateLimitError with retry-after once a key is over its limit', async () => {
    const client = anthropicClient(running.gateway, LIMITED_KEY);
    await client.messages.create({ model: MODEL, max_tokens: 1, messages: hello });
    const error = await apiFailure(client.messages.create({ model: MODEL, max_tokens: 1, messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a 529 overloaded_error from every account reaches the client as Anthropic sent it', async () => {
    running.mock.fault = () => ({ kind: 'status', status: 529 });
    const error = await apiFailure(anthropicClient(running.gateway).messages.create({ model: MODEL, max_tokens: 1, messages: hello }));
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error.status).toBe(529);
    expect(error.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('a stream cut mid-way ends with an error event the client raises', async () => {
    running.mock.fault = (req) => ((req.body as { stream?: boolean }).stream === true ? { kind: 'reset-mid-body' } : undefined);
    const stream = anthropicClient(running.gateway).messages.stream({ model: MODEL, max_tokens: 100, messages: hello });
    const error = await apiFailure(stream.finalMessage());
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });
});
