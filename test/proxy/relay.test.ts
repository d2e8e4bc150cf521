// How a served, non-SSE answer reaches the client: a short one of announced length whole, in one response
// with its length; a long one as it arrives; either with its usage counted and a failure answered as
// well as it still can be.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WHOLE_BODY_BYTES } from '../../src/proxy/relay.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startScriptedUpstream, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const KEY = 'sk-proj-Rr4tY7uI0oP3aS6dF9gH2jK5lZ8xC1vB';
const USAGE = '"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}';

/** A chat completion of about `bytes` bytes whose content quotes the upstream key. */
function completion(bytes: number): Buffer {
  const head = `{"id":"chatcmpl-r","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"key ${KEY} `;
  const tail = `"},"finish_reason":"stop"}],${USAGE}}`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
}

describe('relaying a served JSON answer', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  /** Released by the test once the client has the first bytes of the long answer. */
  let clientHasHead: () => void = () => {};
  let restSent = false;

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const how = (body.messages as { content: string }[])[0]!.content;
      if (how === 'short') {
        const answer = completion(2_000);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
        // The key spans the two writes.
        const split = answer.indexOf(KEY) + 12;
        res.write(answer.subarray(0, split));
        await new Promise((resolve) => setTimeout(resolve, 20));
        res.end(answer.subarray(split));
      } else if (how === 'short-cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2000' });
        res.write(completion(2_000).subarray(0, 900));
        setTimeout(() => res.destroy(), 20);
      } else if (how === 'long') {
        const answer = completion(WHOLE_BODY_BYTES * 3);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
        const half = WHOLE_BODY_BYTES * 2;
        res.write(answer.subarray(0, half));
        // The rest only once the client has read the head, or (should the gateway hold it back) after 3 s.
        await new Promise<void>((resolve) => {
          clientHasHead = resolve;
          setTimeout(resolve, 3_000);
        });
        restSent = true;
        res.end(answer.subarray(half));
      }
    });
    gateway = await startGateway(
      testConfig(upstream.url, { upstreams: [{ name: 'scripted', baseUrl: upstream.url, models: ['*'], accounts: [{ name: 'a', apiKey: KEY }] }] }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const post = (how: string) =>
    request(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: how }] }),
    });

  it(`sends an answer of announced length up to ${WHOLE_BODY_BYTES} bytes whole: its length kept, its key masked, its usage counted`, async () => {
    const response = await post('short');
    const text = await response.body.text();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe('2000');
    expect(text).toHaveLength(2_000);
    expect(text).not.toContain(KEY.slice(0, 12));
    expect(text).toContain(`key ${'*'.repeat(KEY.length)} `);
    const line = gateway.logs.lines.find((l) => l.msg === 'POST /v1/chat/completions' && l.status === 200);
    expect(line?.tokens).toMatchObject({ prompt: 11, completion: 7, total: 18 });
  });

  it('answers 502 upstream_response_failed in the envelope when such an answer breaks before its end', async () => {
    const response = await post('short-cut');
    expect(response.statusCode).toBe(502);
    expect(await response.body.json()).toMatchObject({ error: { type: 'server_error', code: 'upstream_response_failed' } });
  });

  it('relays a longer answer as it arrives: the client reads its head while the upstream still holds the rest', async () => {
    const response = await post('long');
    expect(response.statusCode).toBe(200);
    let received = 0;
    let headBeforeRest = false;
    for await (const chunk of response.body) {
      if (received === 0) {
        headBeforeRest = !restSent;
        clientHasHead();
      }
      received += (chunk as Buffer).length;
    }
    expect(headBeforeRest).toBe(true);
    expect(received).toBe(Number(response.headers['content-length']));
  });
});
