// A client that misbehaves on Anthropic's paths gets Anthropic's envelope with the matching type, whatever
// check refuses it: body size, media type, broken JSON, a body that is not an object, a bad field type.
import { describe, expect, it } from 'vitest';
import { anthropicErrorType } from '../../src/server/error-envelope.js';
import { anthropicConfig } from '../helpers/anthropic.js';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';

const running = useGatewayWithMock((url) => anthropicConfig(url, { bodyLimitBytes: 4096 }));

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${running.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': CLIENT_KEY, 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, json: await response.json() };
}

const anthropicError = (type: string): object => ({ type: 'error', error: { type, message: expect.any(String) } });

describe('misbehaving clients on /v1/messages', () => {
  it('a body over the limit: 413 request_too_large', async () => {
    const big = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(8000) }] });
    expect(await post(big)).toEqual({ status: 413, json: anthropicError('request_too_large') });
  });

  it('broken JSON, a body that is not an object, and a form: invalid_request_error', async () => {
    expect(await post('{"model":')).toEqual({ status: 400, json: anthropicError('invalid_request_error') });
    expect(await post('[1,2]')).toEqual({ status: 400, json: anthropicError('invalid_request_error') });
    expect(await post('model=x', { 'content-type': 'application/x-www-form-urlencoded' })).toEqual({ status: 415, json: anthropicError('invalid_request_error') });
  });

  it('fields of the wrong type, named in the message', async () => {
    const cases: [object, string][] = [
      [{ model: 42, max_tokens: 1, messages: [] }, 'model'],
      [{ model: 'claude-haiku-4-5', max_tokens: '10', messages: [] }, 'max_tokens'],
      [{ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: [] }] }, 'messages[0].content'],
      [{ model: 'claude-haiku-4-5', max_tokens: 1, messages: [], metadata: { user_id: 7 } }, 'metadata.user_id'],
      [{ model: 'claude-haiku-4-5', max_tokens: 1, messages: [], system: [{ type: 'image' }] }, "'system'"],
    ];
    for (const [body, param] of cases) {
      const { status, json } = await post(JSON.stringify(body));
      expect(status, param).toBe(400);
      expect((json as { error: { type: string; message: string } }).error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining(param) });
    }
    expect(running.mock.requests).toHaveLength(0);
  });

  it("maps every status to Anthropic's type", () => {
    expect([400, 401, 403, 404, 413, 415, 429, 500, 502, 504, 529].map(anthropicErrorType)).toEqual([
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'not_found_error',
      'request_too_large',
      'invalid_request_error',
      'rate_limit_error',
      'api_error',
      'api_error',
      'api_error',
      'overloaded_error',
    ]);
  });

  it('keeps OpenAI envelopes on the OpenAI paths', async () => {
    const response = await fetch(`${running.gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': 'gw-wrong' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key' } });
  });

  it('never logs a key sent in x-api-key, should a log call be handed the headers', () => {
    running.gateway.app.log.info({ req: { headers: { 'x-api-key': CLIENT_KEY } }, headers: { 'x-api-key': CLIENT_KEY } }, 'headers probe');
    const probe = running.gateway.logs.text.find((line) => line.includes('headers probe'));
    expect(probe).toContain('[redacted]');
    expect(probe).not.toContain(CLIENT_KEY);
  });
});
