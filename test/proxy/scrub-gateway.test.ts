// The probe's cases through a real gateway in front of a scripted upstream: an upstream that quotes an
// account's key in `x-request-id`, its organization in another header, and the key in hex and as its inner
// run `key[3:-3]` in a plain body, an error body, a stream and a large body that comes one byte per write.
// The client, the official SDK or plain HTTP, sees none of it, and only the documented headers.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { chatChunk, DONE_EVENT, startScriptedUpstream, usageChunk, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const KEY = 'sk-proj-Zq9xW/8vTz0K1mNp4QrS7uVb2YcD5eFg';
const ORGANIZATION = 'org-Zx81JqWmP0aLr5Tn9KcV2bYd';
const PROJECT = 'proj_Q7hN3sVx0PzK8mWc1LtY4bRf';
const SECRETS = [KEY, ORGANIZATION, PROJECT];
const hex = (text: string): string => Buffer.from(text).toString('hex');
const stars = (text: string): string => '*'.repeat(text.length);
const INNER = KEY.slice(3, -3);
/** The key in hex and its inner run, with the organization and project in hex and upper-cased. */
const QUOTED = `key ${hex(KEY)} inner ${INNER} org ${hex(ORGANIZATION).toUpperCase()} project ${PROJECT.toUpperCase()}`;

/** Every run of 16 characters of a secret that `text` holds, as it is (any case) or in hex (any case). */
function leaks(text: string): string[] {
  const folded = text.toLowerCase();
  const found: string[] = [];
  for (const secret of SECRETS) {
    for (let at = 0; at + 16 <= secret.length; at++) {
      const run = secret.slice(at, at + 16);
      if (folded.includes(run.toLowerCase()) || folded.includes(hex(run))) found.push(run);
    }
  }
  return found;
}

/** What the upstream answers with every response: its key, organization and project in headers. */
const UPSTREAM_HEADERS = {
  'x-request-id': `req_${KEY}`,
  'openai-organization': ORGANIZATION,
  'openai-project': PROJECT,
  'openai-version': '2020-10-01',
  'openai-processing-ms': '321',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-reset-tokens': `6ms (${ORGANIZATION})`,
  'retry-after-ms': hex(KEY),
  'x-debug-account': ORGANIZATION,
  'set-cookie': '__cf_bm=abc; path=/',
  'x-gateway-account': 'spoofed',
};

/** The headers a client is given for UPSTREAM_HEADERS: the documented ones, masked. */
function expectScrubbedHeaders(get: (name: string) => string | null | undefined): void {
  expect(get('x-request-id')).toBe(`req_${stars(KEY)}`);
  expect(get('x-ratelimit-reset-tokens')).toBe(`6ms (${stars(ORGANIZATION)})`);
  expect(get('retry-after-ms')).toBe(stars(hex(KEY)));
  expect(get('openai-version')).toBe('2020-10-01');
  expect(get('openai-processing-ms')).toBe('321');
  expect(get('x-ratelimit-limit-requests')).toBe('10000');
  for (const name of ['openai-organization', 'openai-project', 'x-debug-account', 'set-cookie']) expect(get(name) ?? undefined, name).toBeUndefined();
  expect(get('x-gateway-account')).toBe('acct-a');
}

const bodyWith = (quoted: string): string => `{"id":"chatcmpl-x","object":"chat.completion","note":"${quoted}","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`;
/** A body over the size relayed whole, so it goes through the streamed scrubber. */
const LARGE_PAD = 'x'.repeat(80 * 1024);

describe('secrets an upstream quotes, through the gateway', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const how = (body.messages as { content: string }[])[0]!.content;
      if (how === 'error') {
        const error = JSON.stringify({ error: { message: `Bad request: ${QUOTED}`, type: 'invalid_request_error', param: null, code: null } });
        res.writeHead(400, { ...UPSTREAM_HEADERS, 'content-type': 'application/json' });
        res.end(error);
      } else if (how === 'plain') {
        res.writeHead(200, { ...UPSTREAM_HEADERS, 'content-type': 'application/json' });
        res.end(bodyWith(QUOTED));
      } else if (how === 'stream') {
        res.writeHead(200, { ...UPSTREAM_HEADERS, 'content-type': 'text/event-stream' });
        const text = chatChunk(`[{"index":0,"delta":{"content":${JSON.stringify(QUOTED)}},"finish_reason":"stop"}]`) + usageChunk(1, 1) + DONE_EVENT;
        // Cut inside the key's hex and inside the inner run.
        let from = 0;
        for (const cut of [text.indexOf(hex(KEY)) + 7, text.indexOf(INNER) + 9]) {
          res.write(text.slice(from, cut));
          from = cut;
          await nextTurn();
        }
        res.end(text.slice(from));
      } else {
        // Large, with or without a Content-Length; the quoted secrets come one byte per write.
        const text = bodyWith(`${LARGE_PAD} ${QUOTED}`);
        const at = text.indexOf(QUOTED);
        res.writeHead(200, { ...UPSTREAM_HEADERS, 'content-type': 'application/json', ...(how === 'large-with-length' ? { 'content-length': String(text.length) } : {}) });
        res.write(text.slice(0, at));
        for (let i = at; i < at + QUOTED.length; i++) {
          res.write(text[i]);
          await nextTurn();
        }
        res.end(text.slice(at + QUOTED.length));
      }
    });
    gateway = await startGateway(
      testConfig(upstream.url, {
        upstreams: [{ name: 'mock', baseUrl: upstream.url, models: ['*'], accounts: [{ name: 'acct-a', apiKey: KEY, organization: ORGANIZATION, project: PROJECT }] }],
      }),
    );
    client = gateway.client();
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const ask = (content: string): { model: string; messages: { role: 'user'; content: string }[] } => ({ model: 'gpt-4o', messages: [{ role: 'user', content }] });

  it('masks them in a plain body and in the headers, and passes only the documented headers', async () => {
    const { data, response, request_id } = await client.chat.completions.create(ask('plain')).withResponse();
    const note = (data as unknown as { note: string }).note;
    expect(note).toBe(`key ${stars(hex(KEY))} inner ${stars(INNER)} org ${stars(hex(ORGANIZATION))} project ${stars(PROJECT)}`);
    expect(request_id).toBe(`req_${stars(KEY)}`);
    expectScrubbedHeaders((name) => response.headers.get(name));
    expect(leaks(JSON.stringify([...response.headers.entries()]))).toEqual([]);
  });

  it('masks them in an error body and its headers', async () => {
    const error = (await client.chat.completions.create(ask('error')).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.message).toContain('Bad request: key ');
    expect(leaks(error.message)).toEqual([]);
    expect(error.requestID).toBe(`req_${stars(KEY)}`);
    expectScrubbedHeaders((name) => error.headers?.get(name));
  });

  it('masks them in a stream cut inside them, and in its headers', async () => {
    const { data: stream, response } = await client.chat.completions.create({ ...ask('stream'), stream: true }).withResponse();
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe(`key ${stars(hex(KEY))} inner ${stars(INNER)} org ${stars(hex(ORGANIZATION))} project ${stars(PROJECT)}`);
    expectScrubbedHeaders((name) => response.headers.get(name));
  });

  for (const how of ['large', 'large-with-length']) {
    it(`masks them in a ${how === 'large' ? 'chunked' : 'Content-Length'} body over 64 KiB that brings them one byte per write, keeping its length`, async () => {
      const response = await request(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.client().apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(ask(how)),
      });
      const text = await response.body.text();
      expect(response.statusCode).toBe(200);
      const sent = bodyWith(`${LARGE_PAD} ${QUOTED}`);
      expect(text.length).toBe(sent.length);
      if (how === 'large-with-length') expect(response.headers['content-length']).toBe(String(sent.length));
      expect(leaks(text)).toEqual([]);
      expect(text.endsWith(`org ${stars(hex(ORGANIZATION))} project ${stars(PROJECT)}","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)).toBe(true);
      expectScrubbedHeaders((name) => response.headers[name] as string | undefined);
    });
  }
});
