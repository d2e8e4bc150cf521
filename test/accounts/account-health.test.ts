// What an upstream error does to the account that gave it: only the key's own errors bench an account.
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { judgeUpstreamError } from '../../src/accounts/account-health.js';
import { UpstreamPool } from '../../src/accounts/pool.js';
import { testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import type { Fault } from '../helpers/mock-upstream.js';

const KEY_A = 'sk-upstream-secret-a-0123456789';
const KEY_B = 'sk-upstream-secret-b-0123456789';
const message = [{ role: 'user' as const, content: 'hello there' }];
const envelope = (message: string, code: string | null, type = 'invalid_request_error'): object => ({ error: { message, type, param: null, code } });

describe('judgeUpstreamError', () => {
  const body = (code: string | null, message = 'x', type = 'invalid_request_error'): string => JSON.stringify(envelope(message, code, type));

  it('benches the account only for what says the key is bad', () => {
    expect(judgeUpstreamError(401, body('invalid_api_key'))).toEqual({ scope: 'account', reason: 'bad_key' });
    expect(judgeUpstreamError(401, '<html>')).toEqual({ scope: 'account', reason: 'bad_key' });
    expect(judgeUpstreamError(403, body('invalid_api_key'))).toEqual({ scope: 'account', reason: 'bad_key' });
    expect(judgeUpstreamError(403, body('invalid_organization'))).toEqual({ scope: 'account', reason: 'bad_key' });
  });

  it('rests the model alone for a 403 about anything else and a 404 model_not_found', () => {
    const model = { scope: 'model', reason: 'model_unavailable' };
    expect(judgeUpstreamError(403, body('model_not_found', 'Project proj_x does not have access to model gpt-4o'))).toEqual(model);
    expect(judgeUpstreamError(403, body(null))).toEqual(model);
    expect(judgeUpstreamError(403, '')).toEqual(model);
    expect(judgeUpstreamError(404, body('model_not_found'))).toEqual(model);
  });

  it("passes a 404 that is not about the model, and a 429 about the request's own size, to the client", () => {
    expect(judgeUpstreamError(404, body('unknown_url'))).toEqual({ scope: 'client' });
    const tooLarge = [
      body('rate_limit_exceeded', 'Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 45000.', 'tokens'),
      body('context_length_exceeded', "This model's maximum context length is 128000 tokens."),
      body(null, 'x', 'request_too_large'),
    ];
    for (const text of tooLarge) expect(judgeUpstreamError(429, text), text).toEqual({ scope: 'client' });
    // An ordinary token rate limit has type `tokens` too: that one does rest the account.
    const rateLimited = body('rate_limit_exceeded', 'Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000.', 'tokens');
    expect(judgeUpstreamError(429, rateLimited)).toEqual({ scope: 'account', reason: 'rate_limited' });
    expect(judgeUpstreamError(503, '')).toEqual({ scope: 'account', reason: 'server_error' });
    expect(judgeUpstreamError(400, body(null))).toEqual({ scope: 'client' });
  });
});

describe('UpstreamPool.pick with a model', () => {
  const config = configSchema.parse(
    testConfig('http://127.0.0.1:1/v1', {
      upstreams: [{ name: 'u', baseUrl: 'http://127.0.0.1:1/v1', accounts: [{ name: 'a', apiKey: 'sk-a', weight: 3 }, { name: 'b', apiKey: 'sk-b' }] }],
    }),
  );
  const NOW = 1_000_000;

  it('skips an account on which the model rests, and only for that model', () => {
    const pool = new UpstreamPool(config.upstreams[0]!);
    pool.account('a')!.coolModel('gpt-4o', NOW + 5_000);
    for (let i = 0; i < 8; i++) expect(pool.pick(NOW, undefined, 'gpt-4o')!.name).toBe('b');
    const others = Array.from({ length: 8 }, () => pool.pick(NOW, undefined, 'gpt-4o-mini')!.name);
    expect(others.filter((n) => n === 'a')).toHaveLength(6);
    // Once its rest is over, the model is back on the account.
    expect(Array.from({ length: 4 }, () => pool.pick(NOW + 5_000, undefined, 'gpt-4o')!.name)).toContain('a');
  });

  it('gives the account whose rest for the model ends first when the model rests everywhere', () => {
    const pool = new UpstreamPool(config.upstreams[0]!);
    pool.account('a')!.coolModel('gpt-4o', NOW + 9_000);
    pool.account('b')!.coolModel('gpt-4o', NOW + 2_000);
    expect(pool.pick(NOW, undefined, 'gpt-4o')!.name).toBe('b');
  });
});

describe('upstream errors through the gateway', () => {
  // Account a is always tried first (by weight) while it is healthy; b takes what a cannot.
  const running = useGatewayWithMock((url) =>
    testConfig(url, {
      upstreams: [
        {
          name: 'mock',
          baseUrl: url,
          accounts: [
            { name: 'acct-a', apiKey: KEY_A, weight: 1_000 },
            { name: 'acct-b', apiKey: KEY_B, weight: 1 },
          ],
        },
      ],
    }),
  );
  const client = (): OpenAI => running.gateway.client();
  const accountsAsked = (): string[] => running.mock.requests.map((r) => (r.headers.authorization === `Bearer ${KEY_A}` ? 'a' : 'b'));
  /** Account a answers `fault` for `model`, and normally otherwise. */
  const onAccountA = (model: string, fault: Fault): void => {
    running.mock.fault = (req) =>
      req.headers.authorization === `Bearer ${KEY_A}` && (req.body as { model?: string } | undefined)?.model === model ? fault : undefined;
  };
  const served = async (model: string): Promise<string | null> => {
    const { response } = await client().chat.completions.create({ model, messages: message }).withResponse();
    return response.headers.get('x-gateway-account');
  };

  beforeEach(() => {
    for (const account of running.gateway.app.services.router.pools[0]!.accounts) {
      account.coolingUntil = 0;
      account.modelCoolingUntil.clear();
    }
  });
  afterEach(() => {
    running.mock.fault = undefined;
    running.mock.requests.length = 0;
  });

  for (const [status, code] of [
    [403, 'model_not_found'],
    [404, 'model_not_found'],
    [403, null],
  ] as const) {
    it(`a model-specific ${status} (${String(code)}) rests that model on the account, which keeps serving other models`, async () => {
      onAccountA('gpt-4o', { kind: 'status', status, body: envelope('The model `gpt-4o` does not exist or you do not have access to it.', code) });
      expect(await served('gpt-4o')).toBe('acct-b'); // failed over
      expect(accountsAsked()).toEqual(['a', 'b']);
      running.mock.requests.length = 0;

      expect(await served('gpt-4o-mini')).toBe('acct-a');
      expect(await served('gpt-4o')).toBe('acct-b'); // straight to b: the model rests on a
      expect(await served('gpt-4o-mini')).toBe('acct-a');
      expect(accountsAsked()).toEqual(['a', 'b', 'a']);
      expect(running.gateway.logs.lines.some((l) => l.reason === 'model_unavailable' && l.account === 'acct-a' && l.model === 'gpt-4o')).toBe(true);
    });
  }

  for (const [status, code] of [
    [401, 'invalid_api_key'],
    [403, 'invalid_api_key'],
    [403, 'invalid_organization'],
  ] as const) {
    it(`a ${status} ${code} benches the whole account`, async () => {
      onAccountA('gpt-4o', { kind: 'status', status, body: envelope('Incorrect API key provided.', code) });
      expect(await served('gpt-4o')).toBe('acct-b');
      expect(await served('gpt-4o-mini')).toBe('acct-b');
      expect(accountsAsked()).toEqual(['a', 'b', 'b']);
    });
  }

  it('passes a 429 that says the request itself is too large to the client, without retrying or resting the account', async () => {
    const tooLarge = envelope(
      'Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 45000. The input or output tokens must be reduced in order to run successfully.',
      'rate_limit_exceeded',
      'tokens',
    );
    onAccountA('gpt-4o', { kind: 'status', status: 429, body: tooLarge });
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.message).toContain('Request too large');
    expect(accountsAsked()).toEqual(['a']);
    running.mock.fault = undefined;
    expect(await served('gpt-4o')).toBe('acct-a');
  });

  it('still rests the account and retries on another for an ordinary 429', async () => {
    onAccountA('gpt-4o', { kind: 'status', status: 429, body: envelope('Rate limit reached for gpt-4o on tokens per min (TPM).', 'rate_limit_exceeded', 'tokens') });
    expect(await served('gpt-4o')).toBe('acct-b');
    expect(await served('gpt-4o-mini')).toBe('acct-b');
    expect(accountsAsked()).toEqual(['a', 'b', 'b']);
  });

  it('passes a 404 that is not about the model to the client, without resting anything', async () => {
    onAccountA('gpt-4o', { kind: 'status', status: 404, body: envelope('Unknown request URL.', 'unknown_url') });
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error.status).toBe(404);
    running.mock.fault = undefined;
    expect(await served('gpt-4o')).toBe('acct-a');
    expect(accountsAsked()).toEqual(['a', 'a']);
  });
});
