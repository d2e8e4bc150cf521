import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { expectEnvelope, parseRawResponse, rawExchange, rawPost } from '../helpers/raw-http.js';

const BODY_LIMIT = 1024 * 1024;
const CHAT = '/v1/chat/completions';
const IMAGES = '/v1/images/generations';
const JSON_TYPE = { 'content-type': 'application/json' };

const chat = (fields: Record<string, unknown>): string =>
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...fields });
const image = (fields: Record<string, unknown>): string => JSON.stringify({ model: 'gpt-image-2', prompt: 'an otter', ...fields });
/** A valid chat body with `raw` spliced in as the value of one more field, for values JSON.stringify cannot write. */
const chatWith = (field: string, raw: string): string => chat({}).replace(/}$/, `,"${field}":${raw}}`);
const imageWith = (field: string, raw: string): string => image({}).replace(/}$/, `,"${field}":${raw}}`);
const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);

interface Case {
  name: string;
  path: string;
  body: string | Buffer | undefined;
  headers?: Record<string, string>;
  /** The envelope's `code`, or its `param` for a field that breaks a rule: the case is refused for its own reason. */
  why: string;
  /** Expected status; every case must be a 4xx in OpenAI's envelope in any case. */
  status: number;
}

const cases: Case[] = [
  // Broken JSON
  { name: 'truncated JSON', path: CHAT, body: '{"model":"gpt-4o","messages":[', why: 'invalid_json', status: 400 },
  { name: 'trailing garbage after the object', path: CHAT, body: `${chat({})} x`, why: 'invalid_json', status: 400 },
  { name: 'single-quoted JSON', path: CHAT, body: "{'model':'gpt-4o'}", why: 'invalid_json', status: 400 },
  { name: 'a trailing comma', path: CHAT, body: chat({}).replace(/}$/, ',}'), why: 'invalid_json', status: 400 },
  { name: 'a comment in JSON', path: CHAT, body: chat({}).replace(/}$/, '/* hi */}'), why: 'invalid_json', status: 400 },
  { name: 'truncated JSON (images)', path: IMAGES, body: '{"model":"gpt-image-2","prompt":"an ot', why: 'invalid_json', status: 400 },
  // Not a JSON object
  { name: 'an empty body', path: CHAT, body: '', why: 'invalid_json', status: 400 },
  { name: 'a whitespace-only body', path: CHAT, body: ' \n\t ', why: 'invalid_json', status: 400 },
  { name: 'the JSON literal null', path: CHAT, body: 'null', why: 'invalid_json', status: 400 },
  { name: 'a JSON array', path: CHAT, body: `[${chat({})}]`, why: 'invalid_json', status: 400 },
  { name: 'a JSON string', path: CHAT, body: '"hello"', why: 'invalid_json', status: 400 },
  { name: 'a JSON number', path: IMAGES, body: '42', why: 'invalid_json', status: 400 },
  { name: 'an empty body (images)', path: IMAGES, body: '', why: 'invalid_json', status: 400 },
  // NaN and Infinity are not JSON
  { name: 'NaN as temperature', path: CHAT, body: chatWith('temperature', 'NaN'), why: 'invalid_json', status: 400 },
  { name: 'Infinity as max_tokens', path: CHAT, body: chatWith('max_tokens', 'Infinity'), why: 'invalid_json', status: 400 },
  { name: '-Infinity as presence_penalty', path: CHAT, body: chatWith('presence_penalty', '-Infinity'), why: 'invalid_json', status: 400 },
  { name: 'a number that overflows to Infinity (1e400) as temperature', path: CHAT, body: chatWith('temperature', '1e400'), why: 'temperature', status: 400 },
  { name: 'NaN as n (images)', path: IMAGES, body: imageWith('n', 'NaN'), why: 'invalid_json', status: 400 },
  // Invalid UTF-8
  { name: 'an invalid UTF-8 byte', path: CHAT, body: Buffer.concat([Buffer.from(chat({}).slice(0, -3)), Buffer.from([0xff]), Buffer.from('"}]}')]), why: 'invalid_json', status: 400 },
  { name: 'an overlong UTF-8 encoding', path: CHAT, body: Buffer.concat([Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')]), why: 'invalid_json', status: 400 },
  { name: 'a UTF-8-encoded lone surrogate', path: IMAGES, body: Buffer.concat([Buffer.from('{"model":"gpt-image-2","prompt":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), why: 'invalid_json', status: 400 },
  { name: 'a UTF-16 body', path: CHAT, body: Buffer.from(chat({}), 'utf16le'), why: 'invalid_json', status: 400 },
  // Content-Type
  { name: 'no Content-Type', path: CHAT, body: chat({}), headers: {}, why: 'unsupported_media_type', status: 415 },
  { name: 'Content-Type text/plain', path: CHAT, body: chat({}), headers: { 'content-type': 'text/plain' }, why: 'unsupported_media_type', status: 415 },
  { name: 'Content-Type multipart/form-data', path: IMAGES, body: '--x\r\n\r\n--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' }, why: 'unsupported_media_type', status: 415 },
  { name: 'Content-Type application/xml', path: IMAGES, body: '<prompt>otter</prompt>', headers: { 'content-type': 'application/xml' }, why: 'unsupported_media_type', status: 415 },
  { name: 'no Content-Type and no body', path: IMAGES, body: undefined, headers: {}, why: 'unsupported_media_type', status: 415 },
  // Content-Encoding: compressed bodies are refused before they are read
  { name: 'a gzip body', path: CHAT, body: gzipSync(chat({})), headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, why: 'unsupported_content_encoding', status: 415 },
  { name: 'Content-Encoding br (images)', path: IMAGES, body: image({}), headers: { ...JSON_TYPE, 'content-encoding': 'br' }, why: 'unsupported_content_encoding', status: 415 },
  { name: 'Content-Encoding gzip on a form', path: '/v1/audio/transcriptions', body: '--x\r\n\r\n--x--', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-encoding': 'gzip' }, why: 'unsupported_content_encoding', status: 415 },
  // A wrong type at each field
  { name: 'model as a number', path: CHAT, body: chat({ model: 4 }), why: 'model', status: 400 },
  { name: 'model as an object', path: IMAGES, body: image({ model: { id: 'gpt-image-2' } }), why: 'model', status: 400 },
  { name: 'messages as an object', path: CHAT, body: chat({ messages: { role: 'user', content: 'hi' } }), why: 'messages', status: 400 },
  { name: 'a message that is a string', path: CHAT, body: chat({ messages: ['hi'] }), why: 'messages[0]', status: 400 },
  { name: 'role as a number', path: CHAT, body: chat({ messages: [{ role: 1, content: 'hi' }] }), why: 'messages[0].role', status: 400 },
  { name: 'content as an object', path: CHAT, body: chat({ messages: [{ role: 'user', content: { text: 'hi' } }] }), why: 'messages[0].content', status: 400 },
  { name: 'a text part whose text is a number', path: CHAT, body: chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 1 }] }] }), why: 'messages[0].content', status: 400 },
  { name: 'top_p as a boolean', path: CHAT, body: chat({ top_p: true }), why: 'top_p', status: 400 },
  { name: 'frequency_penalty as a string', path: CHAT, body: chat({ frequency_penalty: '0' }), why: 'frequency_penalty', status: 400 },
  { name: 'max_tokens as a string', path: CHAT, body: chat({ max_tokens: '100' }), why: 'max_tokens', status: 400 },
  { name: 'stream as a number', path: CHAT, body: chat({ stream: 1 }), why: 'stream', status: 400 },
  { name: 'stream_options as a string', path: CHAT, body: chat({ stream: true, stream_options: 'usage' }), why: 'stream_options', status: 400 },
  { name: 'stop as an array of numbers', path: CHAT, body: chat({ stop: [1, 2] }), why: 'stop', status: 400 },
  { name: 'tools as an object', path: CHAT, body: chat({ tools: { type: 'function' } }), why: 'tools', status: 400 },
  { name: 'tool_choice as a number', path: CHAT, body: chat({ tool_choice: 1 }), why: 'tool_choice', status: 400 },
  { name: 'seed as a string', path: CHAT, body: chat({ seed: '42' }), why: 'seed', status: 400 },
  { name: 'prompt as a number', path: IMAGES, body: image({ prompt: 42 }), why: 'prompt', status: 400 },
  { name: 'prompt as an array', path: IMAGES, body: image({ prompt: ['an', 'otter'] }), why: 'prompt', status: 400 },
  { name: 'an empty prompt', path: IMAGES, body: image({ prompt: '' }), why: 'prompt', status: 400 },
  { name: 'n as a string (images)', path: IMAGES, body: image({ n: '1' }), why: 'n', status: 400 },
  { name: 'size as a number', path: IMAGES, body: image({ size: 1024 }), why: 'size', status: 400 },
  { name: 'quality as a boolean', path: IMAGES, body: image({ quality: true }), why: 'quality', status: 400 },
  // Negative, fractional and absurd numbers and sizes
  { name: 'a negative n', path: CHAT, body: chat({ n: -1 }), why: 'n', status: 400 },
  { name: 'a fractional n', path: CHAT, body: chat({ n: 2.5 }), why: 'n', status: 400 },
  { name: 'n beyond safe integers', path: CHAT, body: chat({ n: 1e20 }), why: 'n', status: 400 },
  { name: 'max_tokens of 1e308', path: CHAT, body: chat({ max_tokens: 1e308 }), why: 'max_tokens', status: 400 },
  { name: 'a negative n (images)', path: IMAGES, body: image({ n: -3 }), why: 'n', status: 400 },
  { name: 'a fractional n (images)', path: IMAGES, body: image({ n: 0.5 }), why: 'n', status: 400 },
  { name: 'n of 1e308 (images)', path: IMAGES, body: image({ n: 1e308 }), why: 'n', status: 400 },
  { name: 'a size of 99999x99999', path: IMAGES, body: image({ size: '99999x99999' }), why: 'size', status: 400 },
  { name: 'a size with a negative edge', path: IMAGES, body: image({ size: '-1024x1024' }), why: 'size', status: 400 },
  { name: 'a size with three dimensions', path: IMAGES, body: image({ size: '1024x1024x3' }), why: 'size', status: 400 },
  { name: '100,000 stop strings', path: CHAT, body: chat({ stop: Array.from({ length: 100_000 }, () => 'x') }), why: 'stop', status: 400 },
  // Huge strings
  { name: 'a body over bodyLimitBytes', path: CHAT, body: chat({ messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] }), why: 'request_too_large', status: 413 },
  { name: 'a prompt over bodyLimitBytes', path: IMAGES, body: image({ prompt: 'x'.repeat(2 * BODY_LIMIT) }), why: 'request_too_large', status: 413 },
  { name: 'a 500 kB model name', path: CHAT, body: chat({ model: 'm'.repeat(500_000) }), why: 'model_not_found', status: 404 },
  { name: 'a 200 kB prompt', path: IMAGES, body: image({ prompt: 'otter '.repeat(35_000) }), why: 'prompt', status: 400 },
  { name: 'a 500 kB role', path: CHAT, body: chat({ messages: [{ role: 'r'.repeat(500_000), content: 'hi' }] }), why: 'messages[0].role', status: 400 },
  // Deeply nested JSON
  { name: '100,000 levels of [ as the body', path: CHAT, body: nested(100_000), why: 'invalid_json', status: 400 },
  { name: '100,000 unclosed [', path: IMAGES, body: '['.repeat(100_000), why: 'invalid_json', status: 400 },
  { name: '100,000 levels of [ as messages', path: CHAT, body: chatWith('messages', nested(100_000)), why: 'invalid_json', status: 400 },
  { name: '100,000 levels of objects in an unknown field', path: CHAT, body: chatWith('metadata', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`), why: 'invalid_json', status: 400 },
  // A streamed chat with stream_options is re-serialised to add include_usage: deep nesting must not crash it.
  { name: '10,000 levels of [ in a streamed chat with stream_options', path: CHAT, body: chat({ stream: true, stream_options: {} }).replace(/}$/, `,"x":${nested(10_000)}}`), why: 'invalid_json', status: 400 },
  { name: '10,000 levels of [ as the prompt (images)', path: IMAGES, body: imageWith('prompt', nested(10_000)), why: 'invalid_json', status: 400 },
  // Prototype-pollution keys
  { name: 'a top-level __proto__ key', path: CHAT, body: chatWith('__proto__', '{"isAdmin":true}'), why: 'invalid_json', status: 400 },
  { name: 'a __proto__ key inside a message', path: CHAT, body: chat({}).replace('"role":"user"', '"role":"user","__proto__":{"x":1}'), why: 'invalid_json', status: 400 },
  { name: 'constructor.prototype', path: CHAT, body: chatWith('constructor', '{"prototype":{"isAdmin":true}}'), why: 'invalid_json', status: 400 },
  { name: 'a unicode-escaped __proto__ key', path: IMAGES, body: imageWith('\\u005f_proto__', '{"polluted":true}'), why: 'invalid_json', status: 400 },
  { name: 'a __proto__ key (images)', path: IMAGES, body: imageWith('__proto__', '{"n":5}'), why: 'invalid_json', status: 400 },
];

describe('bad input', () => {
  const running = useGatewayWithMock((url) => testConfig(url, { bodyLimitBytes: BODY_LIMIT }));

  it(`has at least 40 cases over both endpoints (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(cases.filter((c) => c.path === IMAGES).length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)('$status $why in OpenAI envelope for $name ($path)', async ({ path, body, headers, why, status }) => {
    const before = running.mock.requests.length;
    const response = await rawPost(running.gateway.url + path, body, { authorization: `Bearer ${CLIENT_KEY}`, ...(headers ?? JSON_TYPE) });
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const envelope = expectEnvelope(response.text);
    expect(envelope.error.type).toBe('invalid_request_error');
    expect([envelope.error.code, envelope.error.param]).toContain(why);
    // A refused request must not echo a huge input back.
    expect(response.text.length).toBeLessThan(2_000);
    expect(running.mock.requests.length).toBe(before);
  });

  it('answers a request the HTTP parser refuses (bad chunked encoding) with 400 in the envelope', async () => {
    const port = Number(new URL(running.gateway.url).port);
    const raw = await rawExchange(
      port,
      `POST ${CHAT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    );
    const { status, body } = parseRawResponse(raw);
    expect(status).toBe(400);
    expectEnvelope(body);
  });

  it('answers headers over the size limit with 431 in the envelope', async () => {
    const port = Number(new URL(running.gateway.url).port);
    const raw = await rawExchange(port, `POST ${CHAT} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const { status, body } = parseRawResponse(raw);
    expect(status).toBe(431);
    expectEnvelope(body);
  });

  it('accepts Content-Encoding: identity, which means the body is not encoded', async () => {
    const response = await rawPost(running.gateway.url + CHAT, chat({}), { authorization: `Bearer ${CLIENT_KEY}`, ...JSON_TYPE, 'content-encoding': 'identity' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ object: 'chat.completion' });
  });

  it('still serves a valid request on both endpoints afterwards', async () => {
    const client = running.gateway.client();
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still here' }] });
    expect(completion.choices[0]!.message.content).toBe('Echo: still here');
    const images = await client.images.generate({ model: 'gpt-image-2', prompt: 'an otter' });
    expect(images.data?.[0]?.b64_json).toBeTruthy();
    expect((await fetch(`${running.gateway.url}/healthz`)).status).toBe(200);
  });
});
