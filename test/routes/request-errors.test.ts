import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';

const LIMITED_KEY = 'gw-test-key-limited';

interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Requests the gateway must refuse itself, each answered in OpenAI's envelope before anything goes upstream. */
describe('errors the gateway makes', () => {
  const running = useGatewayWithMock((url) =>
      testConfig(url, {
        bodyLimitBytes: 64 * 1024,
        clientKeys: [
          { name: 'team-alpha', key: CLIENT_KEY },
          { name: 'team-limited', key: LIMITED_KEY, models: ['gpt-4o-mini', 'gpt-image-2'] },
        ],
      }),
    );

  async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Envelope }> {
    const response = await fetch(`${running.gateway.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Envelope };
  }
  const chat = (body: Record<string, unknown>, headers?: Record<string, string>) =>
    post('/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body }), headers);
  const image = (body: Record<string, unknown>) => post('/images/generations', JSON.stringify({ model: 'gpt-image-2', prompt: 'an otter', ...body }));

  describe('authentication', () => {
    it('401 invalid_api_key without a key, and the SDK raises AuthenticationError', async () => {
      const { status, body } = await chat({}, { authorization: '' });
      expect(status).toBe(401);
      expect(body.error.code).toBe('invalid_api_key');
      const sdk = running.gateway.client('wrong-key');
      await expect(sdk.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it('checks the key before anything else, even a broken body', async () => {
      const { status } = await post('/chat/completions', '{not json', { authorization: 'Bearer nope' });
      expect(status).toBe(401);
    });
  });

  describe('models', () => {
    it('404 model_not_found for an unknown model (NotFoundError in the SDK)', async () => {
      const { status, body } = await chat({ model: 'gpt-9-ultra' });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
      await expect(running.gateway.client().chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('403 model_not_allowed for a model outside the key allow-list (PermissionDeniedError)', async () => {
      const { status, body } = await chat({}, { authorization: `Bearer ${LIMITED_KEY}` });
      expect(status).toBe(403);
      expect(body.error.code).toBe('model_not_allowed');
      expect(body.error.message).toContain('gpt-4o');
      await expect(running.gateway.client(LIMITED_KEY).chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    });

    it('400 for an image model on the chat endpoint and the reverse', async () => {
      const onChat = await chat({ model: 'gpt-image-2' });
      expect(onChat.status).toBe(400);
      expect(onChat.body.error.param).toBe('model');
      const onImages = await image({ model: 'gpt-4o' });
      expect(onImages.status).toBe(400);
      expect(onImages.body.error.param).toBe('model');
    });

    it('runs the checks in order: unknown model before allow-list, allow-list before kind, kind before body', async () => {
      expect((await chat({ model: 'unknown-model', temperature: 9 }, { authorization: `Bearer ${LIMITED_KEY}` })).status).toBe(404);
      expect((await chat({ model: 'gpt-4o', temperature: 9 }, { authorization: `Bearer ${LIMITED_KEY}` })).status).toBe(403);
      const kind = await chat({ model: 'gpt-image-2', temperature: 9 }, { authorization: `Bearer ${LIMITED_KEY}` });
      expect([kind.status, kind.body.error.param]).toEqual([400, 'model']);
    });

    it('400 naming model when it is missing or not a string', async () => {
      const missing = await post('/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
      expect([missing.status, missing.body.error.param]).toEqual([400, 'model']);
      expect((await chat({ model: 42 })).body.error.param).toBe('model');
    });
  });

  describe('chat body rules', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['messages missing', { messages: undefined }, 'messages'],
      ['messages empty', { messages: [] }, 'messages'],
      ['messages not an array', { messages: 'hi' }, 'messages'],
      ['an unknown role', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
      ['content of a wrong type', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
      ['an unknown content part', { messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] }, 'messages[0].content'],
      ['an image URL that is neither data: nor https:', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }] }, 'messages[0].content[0].image_url.url'],
      ['a tool message without tool_call_id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
      ['temperature above 2', { temperature: 2.5 }, 'temperature'],
      ['temperature below 0', { temperature: -0.1 }, 'temperature'],
      ['temperature as a string', { temperature: '1' }, 'temperature'],
      ['top_p above 1', { top_p: 1.5 }, 'top_p'],
      ['presence_penalty below -2', { presence_penalty: -3 }, 'presence_penalty'],
      ['frequency_penalty above 2', { frequency_penalty: 2.1 }, 'frequency_penalty'],
      ['n of 0', { n: 0 }, 'n'],
      ['fractional n', { n: 1.5 }, 'n'],
      ['five stop strings', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      ['stop as a number', { stop: 5 }, 'stop'],
      ['max_tokens of 0', { max_tokens: 0 }, 'max_tokens'],
      ['negative max_tokens', { max_tokens: -10 }, 'max_tokens'],
      ['stream as a string', { stream: 'yes' }, 'stream'],
      ['a tool that is not a function', { tools: [{ type: 'magic' }] }, 'tools[0].type'],
      ['a tool with a bad function name', { tools: [{ type: 'function', function: { name: 'has spaces' } }] }, 'tools[0].function.name'],
      ['an unknown tool_choice', { tool_choice: 'sometimes' }, 'tool_choice'],
    ];
    it.each(cases)('400 for %s, naming the field', async (_name, body, param) => {
      const { status, body: envelope } = await chat(body);
      expect(status).toBe(400);
      expect(envelope.error.type).toBe('invalid_request_error');
      expect(envelope.error.param).toBe(param);
    });

    it('accepts every documented field in range, and null for optional ones', async () => {
      const { status } = await chat({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'developer', content: 'be kind' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
        ],
        temperature: 2,
        top_p: 0,
        n: 2,
        stop: ['a', 'b', 'c', 'd'],
        max_tokens: 1,
        presence_penalty: -2,
        frequency_penalty: 2,
        seed: null,
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
      });
      expect(status).toBe(200);
    });
  });

  describe('image body rules', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['a missing prompt', { prompt: undefined }, 'prompt'],
      ['a prompt over 32,000 characters', { prompt: 'x'.repeat(32_001) }, 'prompt'],
      ['n of 2 on gpt-image-2', { n: 2 }, 'n'],
      ['n of 11', { n: 11 }, 'n'],
      ['n of 0', { n: 0 }, 'n'],
      ['a size not divisible by 16', { size: '1000x1000' }, 'size'],
      ['an aspect ratio beyond 3:1', { size: '3840x1264' }, 'size'],
      ['an aspect ratio beyond 1:3', { size: '512x1552' }, 'size'],
      ['an edge over 3840', { size: '3856x1024' }, 'size'],
      ['more pixels than 3840x2160', { size: '2896x2896' }, 'size'],
      ['a size that is not WIDTHxHEIGHT', { size: 'big' }, 'size'],
      ['an unknown quality', { quality: 'ultra' }, 'quality'],
    ];
    it.each(cases)('400 for %s, naming the field', async (_name, body, param) => {
      const { status, body: envelope } = await image(body);
      expect(status).toBe(400);
      expect(envelope.error.param).toBe(param);
    });

    it.each(['auto', '1024x1024', '3840x2160', '2160x3840', '1536x512', '512x1536', '16x16'])('accepts size %s', async (size) => {
      expect((await image({ size, quality: 'high' })).status).toBe(200);
    });
  });

  describe('transport', () => {
    it('400 invalid_json for malformed JSON', async () => {
      const { status, body } = await post('/chat/completions', '{"model": "gpt-4o", ');
      expect([status, body.error.code]).toEqual([400, 'invalid_json']);
    });

    it('400 for a body that is JSON but not an object', async () => {
      expect((await post('/chat/completions', '[1,2]')).status).toBe(400);
    });

    it('415 for a Content-Type other than JSON', async () => {
      const { status, body } = await post('/chat/completions', 'model=gpt-4o', { 'content-type': 'application/x-www-form-urlencoded' });
      expect([status, body.error.code]).toEqual([415, 'unsupported_media_type']);
    });

    it('413 for a body over bodyLimitBytes', async () => {
      const { status, body } = await chat({ messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] });
      expect([status, body.error.code]).toEqual([413, 'request_too_large']);
    });

    it('404 in the envelope for an unknown path', async () => {
      const { status, body } = await post('/nothing-here', '{}');
      expect([status, body.error.code]).toEqual([404, 'unknown_url']);
    });

    it('sends nothing upstream for any of these', () => {
      expect(running.mock.requests.every((r) => r.path.endsWith('/chat/completions') || r.path.endsWith('/images/generations'))).toBe(true);
      expect(running.mock.requests.some((r) => (r.body as { temperature?: number } | undefined)?.temperature === 2.5)).toBe(false);
    });
  });
});
