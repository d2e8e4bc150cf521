import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';

describe('POST /v1/chat/completions', () => {
  const running = useGatewayWithMock(undefined, { apiKeys: [UPSTREAM_KEY] });
  const client = (): OpenAI => running.gateway.client();
  afterEach(() => {
    running.mock.fault = undefined;
    running.mock.requests.length = 0;
  });

  it('answers a plain chat through the official SDK, with the upstream key swapped in', async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello, can you explain quantum mechanics to me?' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Echo: Hello, can you explain quantum mechanics to me?');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    expect(running.mock.requests).toHaveLength(1);
    expect(running.mock.requests[0]!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(running.mock.requests[0]!.headers)).not.toContain(CLIENT_KEY);
  });

  it('serves the Doubao models in the same format', async () => {
    const completion = await client().chat.completions.create({
      model: 'Doubao-1.5-pro-32k',
      messages: [{ role: 'user', content: 'Hello' }],
      temperature: 0.7,
      max_tokens: 1024,
    });
    expect(completion.model).toBe('Doubao-1.5-pro-32k');
  });

  it('forwards the body byte for byte, unknown fields included', async () => {
    const raw = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],  "some_future_param":{"x":[1,2]},"temperature":0}';
    const response = await fetch(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: raw,
    });
    expect(response.status).toBe(200);
    expect(running.mock.requests[0]!.rawBody).toBe(raw);
  });

  it('passes images in messages through', async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: "What's in this image?" },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
          ],
        },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe("Echo: What's in this image? [1 image]");
  });

  it('supports function calling with tools and tool_choice', async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: "What's the weather like in Boston today?" }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_current_weather',
            description: 'Get the current weather in a given location',
            parameters: {
              type: 'object',
              properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
              required: ['location'],
            },
          },
        },
      ],
      tool_choice: 'auto',
    });
    const call = completion.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('get_current_weather');
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('streams: the first delta reaches the client while the upstream still holds back its last chunk', async () => {
    let release!: () => void;
    running.mock.fault = () => ({ kind: 'hold-last-chunk', release: new Promise<void>((resolve) => (release = resolve)) });
    const stream = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'one two three four five six' }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const deltas: string[] = [];
    // Read until real content has arrived: all of it came before the upstream was released.
    while (deltas.join('').length === 0) {
      const { value } = await iterator.next();
      deltas.push(value!.choices[0]?.delta.content ?? '');
    }
    expect(deltas.join('')).not.toBe('');
    release();
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) deltas.push(step.value.choices[0]?.delta.content ?? '');
    expect(deltas.join('')).toBe('Echo: one two three four five six');
  });

  it('streams with the SSE headers that stop proxies from buffering', async () => {
    const { response } = await client().chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-gateway-account')).toBe('acct-a');
    await response.body?.cancel();
  });

  it('passes an upstream client error through with its status and body', async () => {
    running.mock.fault = () => ({ kind: 'status', status: 400, body: { error: { message: 'Unsupported parameter: foo', type: 'invalid_request_error', param: 'foo', code: 'unsupported_parameter' } } });
    const error = await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_parameter');
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('foo');
  });

  it('masks an upstream key that the upstream quotes in an error', async () => {
    running.mock.fault = () => ({
      kind: 'status',
      status: 400,
      body: { error: { message: `Key ${UPSTREAM_KEY} may not use this`, type: 'invalid_request_error', param: null, code: null } },
    });
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(UPSTREAM_KEY);
    expect(error.message).toContain('***');
    expect(running.gateway.logs.text.join('')).not.toContain(UPSTREAM_KEY);
  });
});
