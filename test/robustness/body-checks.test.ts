import { connect } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { expectEnvelope, rawPost } from '../helpers/raw-http.js';

const CHAT = '/v1/chat/completions';
const AUTH = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' };
const ADMIN_TOKEN = 'admin-token-0123456789';

/**
 * Sends the head of a POST announcing `announced` body bytes, then only the first KiB of them, and
 * resolves with the response that arrives while the rest is still owed; rejects when none does in time.
 */
function answerBeforeTheBody(port: number, path: string, headers: Record<string, string>, announced = 25 * 1024 * 1024): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s while the body was still owed; got: ${received.toString('latin1').slice(0, 300)}`));
    }, 5_000);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = /content-length: (\d+)/i.exec(text.slice(0, split));
      if (length === null || received.length < split + 4 + Number(length[1])) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: text.slice(split + 4, split + 4 + Number(length[1])) });
    });
    const head = Object.entries({ host: '127.0.0.1', 'content-length': String(announced), ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
    socket.write(`{"model":"gpt-4o-mini","messages":[${'1,'.repeat(511)}`);
  });
}

describe('request bodies', () => {
  const running = useGatewayWithMock((url) => testConfig(url, { adminToken: ADMIN_TOKEN }));
  const port = (): number => Number(new URL(running.gateway.url).port);

  describe('nothing is read before the key is checked', () => {
    it.each(['/nothing', '/healthz', '/admin/usage', '/v1/nothing'])('answers POST %s with 404 at once, its body unread', async (path) => {
      const { status, body } = await answerBeforeTheBody(port(), path, { 'content-type': 'application/json' });
      expect(status).toBe(404);
      expect(expectEnvelope(body).error.code).toBe('unknown_url');
    });

    it('answers 401 to a keyless POST to the chat endpoint at once, its body unread', async () => {
      const { status, body } = await answerBeforeTheBody(port(), CHAT, { 'content-type': 'application/json' });
      expect(status).toBe(401);
      expect(expectEnvelope(body).error.code).toBe('invalid_api_key');
    });

    it('still reads the body of an authenticated request', async () => {
      const response = await rawPost(running.gateway.url + CHAT, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), AUTH);
      expect(response.status).toBe(200);
    });
  });

  describe('repeated keys', () => {
    const cases: [string, string, string][] = [
      ['a repeated model', '{"model":"gpt-5.4-pro","messages":[{"role":"user","content":"hi"}],"model":"gpt-4o-mini"}', 'model'],
      ['model and MODEL', '{"model":"gpt-4o-mini","MODEL":"gpt-5.4-pro","messages":[{"role":"user","content":"hi"}]}', 'model'],
      ['model and an escaped mod\\u0065l', '{"model":"gpt-4o-mini","mod\\u0065l":"gpt-5.4-pro","messages":[{"role":"user","content":"hi"}]}', 'model'],
      [
        'a repeated stream_options',
        '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":false}}',
        'stream_options',
      ],
      ['include_usage in two cases', '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true,"INCLUDE_USAGE":false},"messages":[{"role":"user","content":"hi"}]}', 'include_usage'],
      ['a repeated role in a message', '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","Role":"system"}]}', 'role'],
    ];
    it.each(cases)('refuses %s with 400 invalid_json naming the key, sending nothing upstream', async (_name, body, key) => {
      const before = running.mock.requests.length;
      const response = await rawPost(running.gateway.url + CHAT, body, AUTH);
      expect(response.status).toBe(400);
      const { error } = expectEnvelope(response.text);
      expect(error.code).toBe('invalid_json');
      expect(error.message).toContain(`'${key}'`);
      expect(running.mock.requests.length).toBe(before);
    });

    it('refuses a repeated key in an image request too', async () => {
      const response = await rawPost(running.gateway.url + '/v1/images/generations', '{"model":"gpt-image-2","prompt":"an otter","n":1,"N":4}', AUTH);
      expect(response.status).toBe(400);
      expect(expectEnvelope(response.text).error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining("'n'") });
    });
  });

  describe('array limits', () => {
    const client = (): OpenAI => running.gateway.client();
    const tool = (i: number) => ({ type: 'function' as const, function: { name: `tool_${i}`, parameters: { type: 'object' } } });

    it('accepts 128 tools and refuses 129 as OpenAI does, before the upstream sees them', async () => {
      await expect(
        client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools: Array.from({ length: 128 }, (_, i) => tool(i)) }),
      ).resolves.toMatchObject({ object: 'chat.completion' });
      const before = running.mock.requests.length;
      const error = await client()
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools: Array.from({ length: 129 }, (_, i) => tool(i)) })
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ code: 'array_above_max_length', param: 'tools' });
      expect((error as Error).message).toContain('maximum length 128, but got an array with length 129');
      expect(running.mock.requests.length).toBe(before);
    });

    it.each([
      ['messages', { messages: Array.from({ length: 10_001 }, () => ({ role: 'user', content: 'hi' })) }, 'messages'],
      ['content parts', { messages: [{ role: 'user', content: Array.from({ length: 10_001 }, () => ({ type: 'text', text: 'hi' })) }] }, 'messages[0].content'],
      ['stop strings', { messages: [{ role: 'user', content: 'hi' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ])('refuses too many %s with array_above_max_length', async (_name, fields, param) => {
      const response = await rawPost(running.gateway.url + CHAT, JSON.stringify({ model: 'gpt-4o-mini', ...fields }), AUTH);
      expect(response.status).toBe(400);
      expect(expectEnvelope(response.text).error).toMatchObject({ code: 'array_above_max_length', param });
    });

    it('reports only the first bad item of a long array', async () => {
      const response = await rawPost(running.gateway.url + CHAT, JSON.stringify({ model: 'gpt-4o-mini', messages: Array.from({ length: 9_000 }, () => 1) }), AUTH);
      expect(response.status).toBe(400);
      expect(expectEnvelope(response.text).error.param).toBe('messages[0]');
    });

    it('refuses a body holding more than 200,000 values in all before parsing it', async () => {
      const block = JSON.stringify(Array.from({ length: 50_000 }, () => 1));
      const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":[${Array(5).fill(block).join(',')}]}`;
      const response = await rawPost(running.gateway.url + CHAT, body, AUTH);
      expect(response.status).toBe(400);
      expect(expectEnvelope(response.text).error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('200000') });
    });
  });

  describe('no reflection', () => {
    it('quotes at most 200 characters of an unknown URL, in the 404 and in the log line', async () => {
      const path = `/v1/${'x'.repeat(10_000)}`;
      const response = await rawPost(running.gateway.url + path, '{}', AUTH);
      expect(response.status).toBe(404);
      const { message } = expectEnvelope(response.text).error;
      expect(message).toContain('x'.repeat(190));
      expect(message.length).toBeLessThan(300);
      const line = running.gateway.logs.text.find((text) => text.includes('"status":404') && text.includes('xxxxxxxxxx'));
      expect(line).toBeDefined();
      expect(line!.length).toBeLessThan(600);
    });

    it('quotes at most 200 characters of an unknown model', async () => {
      const response = await rawPost(running.gateway.url + CHAT, JSON.stringify({ model: 'm'.repeat(10_000), messages: [{ role: 'user', content: 'hi' }] }), AUTH);
      expect(response.status).toBe(404);
      const { message } = expectEnvelope(response.text).error;
      expect(message).toContain('m'.repeat(200));
      expect(message).not.toContain('m'.repeat(201));
    });
  });
});
