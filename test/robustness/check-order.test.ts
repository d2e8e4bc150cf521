import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { expectEnvelope, rawPost } from '../helpers/raw-http.js';

const LIMITED_KEY = 'gw-key-one-request-a-minute';
// Its admission waits for a small body, to share the budget's write to Redis: the order must not change.
const BUDGETED_KEY = 'gw-key-one-request-a-minute-and-a-budget';
const OPEN_KEY = 'gw-key-without-limits';
const MINI_ONLY_KEY = 'gw-key-for-gpt-4o-mini-only';
const BODY_LIMIT = 64 * 1024;
const CHAT = '/v1/chat/completions';
const JSON_TYPE = { 'content-type': 'application/json' };

const chat = (fields: Record<string, unknown>): string => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...fields });
const BROKEN_JSON = '{"model":"gpt-4o-mini","messages":[';
const OVERSIZED = chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] });

/** The status and error code of one chat request with `key`. */
async function outcome(url: string, key: string, body: string, headers: Record<string, string> = JSON_TYPE): Promise<[number, string | null]> {
  const response = await rawPost(url + CHAT, body, { authorization: `Bearer ${key}`, ...headers });
  return [response.status, expectEnvelope(response.text).error.code];
}

describe('the order of checks', () => {
  const running = useGatewayWithMock((url) =>
    testConfig(url, {
      bodyLimitBytes: BODY_LIMIT,
      clientKeys: [
        { name: 'limited', key: LIMITED_KEY, limits: { requestsPerMinute: 1 } },
        { name: 'budgeted', key: BUDGETED_KEY, limits: { requestsPerMinute: 1, usdPerDay: 100 } },
        { name: 'open', key: OPEN_KEY },
        { name: 'mini-only', key: MINI_ONLY_KEY, models: ['gpt-4o-mini'] },
      ],
    }),
  );
  // One fixed instant, in the middle of a minute: the limited key's window cannot roll over mid-test.
  beforeAll(() => {
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now - (now % 60_000) + 30_000);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('refuses an unknown key (401) before anything else', async () => {
    expect(await outcome(running.gateway.url, 'gw-no-such-key', BROKEN_JSON)).toEqual([401, 'invalid_api_key']);
    expect(await outcome(running.gateway.url, 'gw-no-such-key', OVERSIZED)).toEqual([401, 'invalid_api_key']);
  });

  it.each([
    ['with limits', LIMITED_KEY],
    ['with limits and a budget', BUDGETED_KEY],
  ])('applies limits (429) before reading the body, and a refused request still counts against them: a key %s', async (_, key) => {
    const { url } = running.gateway;
    // Admitted, so counted, then refused for its body.
    expect(await outcome(url, key, BROKEN_JSON)).toEqual([400, 'invalid_json']);
    // The minute's one request is spent: whatever else is wrong, the answer is now 429.
    expect(await outcome(url, key, chat({}))).toEqual([429, 'rate_limit_exceeded']);
    expect(await outcome(url, key, BROKEN_JSON)).toEqual([429, 'rate_limit_exceeded']);
    expect(await outcome(url, key, OVERSIZED)).toEqual([429, 'rate_limit_exceeded']);
    expect(await outcome(url, key, chat({}), { 'content-type': 'text/plain' })).toEqual([429, 'rate_limit_exceeded']);
    expect(await outcome(url, key, chat({}), { ...JSON_TYPE, 'content-encoding': 'gzip' })).toEqual([429, 'rate_limit_exceeded']);
    expect(await outcome(url, key, chat({ model: 'no-such-model', temperature: 9 }))).toEqual([429, 'rate_limit_exceeded']);
  });

  it('checks the body as JSON (413, 415, 400 invalid_json) before the model', async () => {
    const { url } = running.gateway;
    expect(await outcome(url, OPEN_KEY, OVERSIZED)).toEqual([413, 'request_too_large']);
    expect(await outcome(url, OPEN_KEY, chat({ model: 'no-such-model' }), { 'content-type': 'text/plain' })).toEqual([415, 'unsupported_media_type']);
    expect(await outcome(url, OPEN_KEY, chat({ model: 'no-such-model', temperature: 9 }).replace(/}$/, ',"model":"gpt-4o"}'))).toEqual([400, 'invalid_json']);
  });

  it('checks the model (404, 403, 400 model_not_supported) before the body rules', async () => {
    const { url } = running.gateway;
    expect(await outcome(url, OPEN_KEY, chat({ model: 'no-such-model', temperature: 9 }))).toEqual([404, 'model_not_found']);
    expect(await outcome(url, MINI_ONLY_KEY, chat({ model: 'gpt-4o', temperature: 9 }))).toEqual([403, 'model_not_allowed']);
    expect(await outcome(url, OPEN_KEY, chat({ model: 'gpt-image-2', temperature: 9 }))).toEqual([400, 'model_not_supported']);
    expect(await outcome(url, OPEN_KEY, chat({ temperature: 9 }))).toEqual([400, 'invalid_value']);
  });

  it('refuses a form without its file (400 missing_file) before the model checks', async () => {
    const { url } = running.gateway;
    const form = new FormData();
    form.append('model', 'no-such-model');
    const answer = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${OPEN_KEY}` }, body: form });
    expect(answer.status).toBe(400);
    expect(expectEnvelope(await answer.text()).error.code).toBe('missing_file');
  });

  it('checks previous_response_id (400 previous_response_not_found) after the model and the body rules', async () => {
    const { url } = running.gateway;
    const responses = (fields: Record<string, unknown>) =>
      rawPost(`${url}/v1/responses`, JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', previous_response_id: 'resp_unknown', ...fields }), {
        authorization: `Bearer ${OPEN_KEY}`,
        ...JSON_TYPE,
      });
    const codeOf = async (fields: Record<string, unknown>): Promise<[number, string | null]> => {
      const answer = await responses(fields);
      return [answer.status, expectEnvelope(answer.text).error.code];
    };
    expect(await codeOf({ model: 'no-such-model' })).toEqual([404, 'model_not_found']);
    expect(await codeOf({ temperature: 9 })).toEqual([400, 'invalid_value']);
    expect(await codeOf({})).toEqual([400, 'previous_response_not_found']);
  });
});
