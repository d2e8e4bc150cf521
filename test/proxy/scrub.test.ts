// Provider keys in any encoding never reach a client: error bodies and 2xx bodies, whole and streamed,
// with a key split across two upstream writes.
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../../src/proxy/scrub.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { chatChunk, DONE_EVENT, startScriptedUpstream, type ScriptedUpstream } from '../helpers/scripted-upstream.js';
import { throughStream } from '../helpers/scrub-stream.js';

/** A key with a `/`, so that its JSON form may be written with `\/`. */
const KEY = 'sk-proj-Zq9xW/8vTz0K1mNp4QrS7uVb2YcD5eFg';
const OTHER_KEY = 'sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const percentAll = (text: string): string => [...text].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** How an upstream may quote a key, as it appears in the raw bytes of a JSON body. */
const ENCODINGS: Record<string, string> = {
  plain: KEY,
  'JSON \\u escape of one character': `\\u0073${KEY.slice(1)}`,
  'JSON \\u escape of every character': [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  'JSON \\/ escape': KEY.replace('/', '\\/'),
  'URL-encoded': encodeURIComponent(KEY),
  'URL-encoded, every character': percentAll(KEY),
  base64: b64(KEY),
  'base64 after Bearer': `Bearer ${b64(KEY)}`,
  'base64 of the Bearer header': b64(`Bearer ${KEY}`),
  'base64url of the Bearer header': b64(`Authorization: Bearer ${KEY}`).replaceAll('+', '-').replaceAll('/', '_'),
  'prefix fragment': KEY.slice(0, 12),
  'suffix fragment': KEY.slice(-9),
  'other account, plain': OTHER_KEY,
};

/** What must not be readable in a client's bytes, for each encoding: the key or any 8-character piece of it. */
function leaks(text: string): string[] {
  const decoded = [text, text.replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))).replaceAll('\\/', '/')];
  try {
    decoded.push(decodeURIComponent(text));
  } catch {
    // not URL-encoded as a whole
  }
  for (const word of text.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) decoded.push(Buffer.from(word, 'base64').toString('latin1'), Buffer.from(word.slice(1), 'base64').toString('latin1'), Buffer.from(word.slice(2), 'base64').toString('latin1'), Buffer.from(word.slice(3), 'base64').toString('latin1'));
  const found: string[] = [];
  for (const key of [KEY, OTHER_KEY]) {
    for (let at = 0; at + 8 <= key.length; at++) {
      const piece = key.slice(at, at + 8);
      // Only prefix and suffix fragments must go; inner pieces are counted when a prefix or suffix is there.
      if (at !== 0 && at + 8 !== key.length) continue;
      if (decoded.some((d) => d.includes(piece))) found.push(piece);
    }
  }
  return found;
}

const bodyWith = (quoted: string): string => `{"id":"x","note":"the key was ${quoted} in the request","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`;

describe('SecretScrubber', () => {
  const scrubber = new SecretScrubber([KEY, OTHER_KEY]);

  it('finds what the test counts as a leak in every unscrubbed encoding', () => {
    for (const [name, quoted] of Object.entries(ENCODINGS)) expect(leaks(bodyWith(quoted)), name).not.toEqual([]);
  });

  for (const [name, quoted] of Object.entries(ENCODINGS)) {
    it(`masks a key quoted as ${name}: in an error body, a whole 2xx body and a streamed one cut anywhere`, async () => {
      const body = bodyWith(quoted);
      const scrubbed = scrubber.scrub(body);
      expect(leaks(scrubbed)).toEqual([]);
      expect(JSON.parse(scrubbed)).toMatchObject({ id: 'x' });

      const whole = scrubber.maskComplete(Buffer.from(body));
      expect(leaks(whole.toString())).toEqual([]);
      expect(whole.length).toBe(Buffer.byteLength(body));
      expect(JSON.parse(whole.toString())).toMatchObject({ id: 'x', usage: { total_tokens: 2 } });

      const start = body.indexOf(quoted);
      for (let cut = start - 1; cut <= start + quoted.length + 1; cut++) {
        const streamed = (await throughStream(scrubber, [Buffer.from(body.slice(0, cut)), Buffer.from(body.slice(cut))])).toString();
        expect(leaks(streamed), `cut at ${cut}`).toEqual([]);
        expect(streamed.length).toBe(body.length);
      }
    });
  }

  it('leaves a body without keys unchanged, and returns the same buffer', () => {
    const body = Buffer.from(bodyWith('not here: sk-learn, 50%25, caf\\u00e9, https:\\/\\/example.com'));
    expect(scrubber.maskComplete(body)).toBe(body);
  });
});

describe('keys in upstream bodies, through the gateway', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  const quotedAll = Object.values(ENCODINGS).join(' and ');

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const how = (body.messages as { content: string }[])[0]!.content;
      if (how === 'error') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `Bad request with key ${quotedAll}`, type: 'invalid_request_error', param: null, code: null } }).replaceAll('\\\\', '\\'));
        return;
      }
      // Each write ends in the middle of the first key: the key spans two writes.
      const split = (text: string): [string, string] => {
        const at = text.indexOf(KEY) + 10;
        return [text.slice(0, at), text.slice(at)];
      };
      if (how === 'json') {
        const [a, b] = split(bodyWith(quotedAll));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(a);
        await delay(30);
        res.end(b);
        return;
      }
      const content = chatChunk(`[{"index":0,"delta":{"content":${JSON.stringify(`quoting ${KEY} there`)}},"finish_reason":null}]`);
      const escaped = chatChunk(`[{"index":0,"delta":{"content":"and ${ENCODINGS['JSON \\u escape of one character']} and ${b64(KEY)}"},"finish_reason":"stop"}]`);
      const [a, b] = split(content);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(a);
      await delay(30);
      res.write(b);
      res.end(escaped + DONE_EVENT);
    });
    gateway = await startGateway(
      testConfig(upstream.url, {
        upstreams: [{ name: 'mock', baseUrl: upstream.url, models: ['*'], accounts: [{ name: 'a', apiKey: KEY }, { name: 'b', apiKey: OTHER_KEY }] }],
      }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function post(how: string, stream = false): Promise<{ status: number; text: string; length: string | undefined }> {
    const response = await request(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: how }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
    });
    const length = response.headers['content-length'];
    return { status: response.statusCode, text: await response.body.text(), length: typeof length === 'string' ? length : undefined };
  }

  it('masks every encoding in an error body', async () => {
    const { status, text } = await post('error');
    expect(status).toBe(400);
    expect(leaks(text)).toEqual([]);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('masks every encoding in a 2xx JSON body whose key spans two writes', async () => {
    const { status, text } = await post('json');
    expect(status).toBe(200);
    expect(leaks(text)).toEqual([]);
    expect(text.length).toBe(bodyWith(quotedAll).length);
  });

  it('masks keys in a stream, a key spanning two writes included', async () => {
    const { status, text } = await post('stream', true);
    expect(status).toBe(200);
    expect(leaks(text)).toEqual([]);
    expect(text).toContain('quoting ');
    expect(text.endsWith(DONE_EVENT)).toBe(true);
  });
});
