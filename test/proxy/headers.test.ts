// Which upstream response headers reach the client, and that the gateway's own keep their values.
import Fastify from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { copyHeaders } from '../../src/proxy/headers.js';
import { SecretScrubber } from '../../src/proxy/scrub.js';

const KEY = 'sk-proj-Zq9xW/8vTz0K1mNp4QrS7uVb2YcD5eFg';
const ORGANIZATION = 'org-Zx81JqWmP0aLr5Tn9KcV2bYd';
const scrubber = new SecretScrubber([KEY, ORGANIZATION]);

const UPSTREAM: IncomingHttpHeaders = {
  'content-type': 'application/json',
  'x-request-id': 'req_abc123',
  'openai-processing-ms': '120',
  'openai-version': '2020-10-01',
  'openai-organization': ORGANIZATION,
  'openai-project': 'proj_abc',
  'openai-model': 'gpt-4o-2024-08-06',
  'retry-after': '3',
  'retry-after-ms': '2500',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-reset-tokens': '6ms',
  'set-cookie': ['__cf_bm=abc; path=/', 'other=1'],
  'cf-ray': '8c1f2a7b0e9d4c3a-AMS',
  server: 'cloudflare',
  'x-gateway-account': 'spoofed',
  via: '1.1 proxy',
};

/** The headers a reply carries after `copyHeaders`, with `own` set by the gateway before. */
async function replied(upstream: IncomingHttpHeaders, own: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const app = Fastify();
  app.get('/', (_request, reply) => {
    reply.headers(own);
    copyHeaders(reply, upstream, scrubber);
    return reply.send(Buffer.from('{}'));
  });
  const response = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return response.headers;
}

describe('upstream response headers', () => {
  it('passes only the documented ones: content type, request id, processing time, version, retry-after and x-ratelimit-*', async () => {
    const headers = await replied(UPSTREAM);
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': 'req_abc123',
      'openai-processing-ms': '120',
      'openai-version': '2020-10-01',
      'retry-after': '3',
      'retry-after-ms': '2500',
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-reset-tokens': '6ms',
    });
    for (const name of ['openai-organization', 'openai-project', 'openai-model', 'set-cookie', 'cf-ray', 'server', 'x-gateway-account', 'via']) expect(headers[name], name).toBeUndefined();
  });

  it('masks a secret in the value of every header it passes', async () => {
    const headers = await replied({ 'x-request-id': `req_${KEY}`, 'openai-version': `${ORGANIZATION.toUpperCase()}`, 'x-ratelimit-reset-requests': Buffer.from(KEY).toString('hex') });
    expect(headers['x-request-id']).toBe(`req_${'*'.repeat(KEY.length)}`);
    expect(headers['openai-version']).toBe('*'.repeat(ORGANIZATION.length));
    expect(headers['x-ratelimit-reset-requests']).toBe('*'.repeat(2 * KEY.length));
  });

  it("keeps the gateway's own rate-limit headers of a limited client key, not mixed with the account's", async () => {
    const own = { 'x-ratelimit-limit-tokens': '10', 'x-ratelimit-remaining-tokens': '4', 'x-ratelimit-reset-tokens': '1m0s' };
    const headers = await replied(UPSTREAM, own);
    expect(headers).toMatchObject(own);
    expect(headers['x-ratelimit-limit-requests']).toBeUndefined();
    expect(headers['x-ratelimit-remaining-requests']).toBeUndefined();
  });

  it('never replaces a header the gateway set', async () => {
    const headers = await replied(UPSTREAM, { 'retry-after': '60', 'content-type': 'text/plain' });
    expect(headers['retry-after']).toBe('60');
    expect(headers['content-type']).toBe('text/plain');
    expect(headers['retry-after-ms']).toBe('2500');
  });
});
