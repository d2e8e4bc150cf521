// The Responses API through the gateway with the official client: answers relayed as the upstream sent them,
// usage counted, and every stored response reachable only at the account that made it, for the key that
// made it, across gateway processes sharing Redis.
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { CLIENT_KEY, startGateway, startGatewayProcess, testConfig, type GatewayProcess, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, total } from '../helpers/prometheus.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ACCOUNTS = [
  { name: 'acct-a', apiKey: 'sk-resp-upstream-a-0123456789' },
  { name: 'acct-b', apiKey: 'sk-resp-upstream-b-0123456789' },
  { name: 'acct-c', apiKey: 'sk-resp-upstream-c-0123456789' },
];
const BETA_KEY = 'gw-test-key-beta';
const LIMITED_KEY = 'gw-test-key-limited';

/** Ids and times differ between two answers of the mock; everything else must be the same bytes. */
function normalised(text: string): string {
  return text.replace(/\b(resp|msg|rs|fc|call)_[A-Za-z0-9_]+/g, '$1_ID').replace(/"created_at":\d+/g, '"created_at":0');
}

describe('the Responses API through the gateway', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let processes: GatewayProcess[];

  const config = (extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput =>
    testConfig(mock.url, {
      clientKeys: [
        { name: 'team-alpha', key: CLIENT_KEY },
        { name: 'team-beta', key: BETA_KEY },
        { name: 'team-limited', key: LIMITED_KEY, limits: { tokensPerMinute: 30 } },
      ],
      upstreams: [{ name: 'mock', baseUrl: mock.url, models: ['*'], accounts: ACCOUNTS }],
      redis: { url: redis.url, timeoutMs: 1_000 },
      ...extra,
    });

  beforeAll(async () => {
    [mock, redis] = await Promise.all([startMockUpstream({ apiKeys: ACCOUNTS.map((a) => a.apiKey), streamChunks: 3 }), startRedis()]);
    gateway = await startGateway(config());
    processes = await Promise.all([startGatewayProcess(config()), startGatewayProcess(config())]);
    await Promise.all(processes.map((p) => p.waitForOutput(/"msg":"redis connected"/)));
  });
  afterAll(async () => {
    await Promise.all((processes ?? []).map((p) => p.stop()));
    await gateway?.close();
    await Promise.all([mock?.close(), redis?.stop()]);
  });
  afterEach(() => {
    mock.fault = undefined;
    mock.requests.length = 0;
  });

  const sdk = (baseURL: string, apiKey = CLIENT_KEY): OpenAI => new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  const keyOf = (account: string): string => ACCOUNTS.find((a) => a.name === account)!.apiKey;

  async function rawPost(baseURL: string, path: string, body: unknown, apiKey: string): Promise<{ status: number; text: string; account: string | undefined }> {
    const res = await request(`${baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, text: await res.body.text(), account: res.headers['x-gateway-account'] as string | undefined };
  }

  it('relays a plain answer as the upstream sent it, with its usage', async () => {
    const body = { model: 'gpt-4o', input: 'Hello there world', instructions: 'Be terse' };
    const through = await rawPost(gateway.baseURL, '/responses', body, CLIENT_KEY);
    const direct = await rawPost(mock.url, '/responses', body, keyOf(through.account!));
    expect(through.status).toBe(200);
    expect(normalised(through.text)).toBe(normalised(direct.text));

    const response = await sdk(gateway.baseURL).responses.create(body);
    expect(response.output_text).toBe('Echo: Hello there world');
    expect(response.usage).toMatchObject({ input_tokens: 11, output_tokens: 4 });
  });

  it('relays a streamed answer event for event, and the SDK assembles it', async () => {
    const body = { model: 'gpt-4o', input: 'Stream me please', stream: true };
    const through = await rawPost(gateway.baseURL, '/responses', body, CLIENT_KEY);
    const direct = await rawPost(mock.url, '/responses', body, keyOf(through.account!));
    expect(normalised(through.text)).toBe(normalised(direct.text));
    expect(through.text).not.toContain('event: error');

    const stream = sdk(gateway.baseURL).responses.stream({ model: 'gpt-4o', input: 'Stream me please' });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    const final = await stream.finalResponse();
    expect(text).toBe('Echo: Stream me please');
    expect(final.output_text).toBe(text);
  });

  it('ends a stream the upstream cut with an error event that every path of the SDK raises as APIError', async () => {
    mock.fault = () => ({ kind: 'cut-stream' });
    const client = sdk(gateway.baseURL);
    const iterate = async (): Promise<void> => {
      for await (const event of await client.responses.create({ model: 'gpt-4o', input: 'cut me', stream: true })) void event;
    };
    await expect(iterate()).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(client.responses.stream({ model: 'gpt-4o', input: 'cut me' }).finalResponse()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it('counts prompt, completion, cached and reasoning tokens of plain and streamed answers in metrics and the log line', async () => {
    const client = sdk(gateway.baseURL);
    const ask = { model: 'gpt-5.4', input: 'Count my tokens please', prompt_cache_key: 'tokens-conv', reasoning: { effort: 'low' as const } };
    const first = await client.responses.create(ask);
    const second = await client.responses.stream(ask).finalResponse();
    expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(first.usage!.output_tokens_details.reasoning_tokens).toBe(8);

    const lines = gateway.logs.lines.filter((l) => l.model === 'gpt-5.4');
    expect(lines).toHaveLength(2);
    expect(lines[1]!.tokens).toMatchObject({
      prompt: second.usage!.input_tokens,
      completion: second.usage!.output_tokens,
      cached: second.usage!.input_tokens_details.cached_tokens,
      reasoning: 8,
    });
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    const labels = { endpoint: '/v1/responses', model: 'gpt-5.4', client_key: 'team-alpha' };
    expect(total(metrics, 'gateway_tokens_total', { ...labels, type: 'prompt' })).toBe(first.usage!.input_tokens + second.usage!.input_tokens);
    expect(total(metrics, 'gateway_tokens_total', { ...labels, type: 'cached' })).toBe(second.usage!.input_tokens_details.cached_tokens);
    expect(total(metrics, 'gateway_tokens_total', { ...labels, type: 'reasoning' })).toBe(16);
    expect(total(metrics, 'gateway_tokens_total', { ...labels, type: 'completion' })).toBe(first.usage!.output_tokens + second.usage!.output_tokens);
  });

  it("spends a key's token limit with streamed responses", async () => {
    const limited = sdk(gateway.baseURL, LIMITED_KEY);
    await limited.responses.stream({ model: 'gpt-4o', input: 'a b c d e f g h i j k l m n o p q r s t u v w x y z' }).finalResponse();
    await expect(limited.responses.create({ model: 'gpt-4o', input: 'again' })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('sends previous_response_id, retrieve, input items and delete to the account that made the response, across two gateways on one Redis', async () => {
    const [one, two] = processes.map((p) => sdk(p.baseURL));
    const { data: created, response } = await one!.responses.create({ model: 'gpt-4o', input: 'Remember the otter' }).withResponse();
    const owner = response.headers.get('x-gateway-account');
    expect(owner).not.toBeNull();
    // Three accounts with equal weights: ten follow-ups would land elsewhere were they not bound.
    for (let i = 0; i < 10; i++) {
      const { data: next, response: answer } = await two!.responses
        .create({ model: 'gpt-4o', input: `And then ${i}?`, previous_response_id: created.id })
        .withResponse();
      expect(answer.headers.get('x-gateway-account')).toBe(owner);
      expect(next.output_text).toContain('And then');
    }
    const { data: retrieved, response: got } = await two!.responses.retrieve(created.id).withResponse();
    expect(retrieved.id).toBe(created.id);
    expect(got.headers.get('x-gateway-account')).toBe(owner);
    const items = await two!.responses.inputItems.list(created.id);
    expect(items.data.length).toBeGreaterThan(0);
    await two!.responses.delete(created.id);
    await expect(one!.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(mock.requests.every((r) => r.headers.authorization === `Bearer ${keyOf(owner!)}`)).toBe(true);
  });

  it("answers another key's response id as unknown, and sends nothing upstream", async () => {
    const created = await sdk(gateway.baseURL).responses.create({ model: 'gpt-4o', input: 'Mine only', background: true });
    mock.requests.length = 0;
    const beta = sdk(gateway.baseURL, BETA_KEY);
    await expect(beta.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(beta.responses.delete(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(beta.responses.cancel(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(beta.responses.inputItems.list(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(beta.responses.create({ model: 'gpt-4o', input: 'x', previous_response_id: created.id })).rejects.toMatchObject({
      status: 400,
      code: 'previous_response_not_found',
      param: 'previous_response_id',
    });
    await expect(beta.responses.retrieve('resp_never_made')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(mock.requests).toHaveLength(0);
    expect((await sdk(gateway.baseURL).responses.cancel(created.id)).id).toBe(created.id);
  });

  it('keeps a conversation on one account by prompt_cache_key or by the session header', async () => {
    const client = sdk(gateway.baseURL);
    const accounts = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { response } = await client.responses.create({ model: 'gpt-4o', input: `turn ${i}`, prompt_cache_key: 'codex-thread-7' }).withResponse();
      accounts.add(response.headers.get('x-gateway-account')!);
    }
    expect(accounts.size).toBe(1);
    accounts.clear();
    for (let i = 0; i < 8; i++) {
      const { response } = await client.responses.create({ model: 'gpt-4o', input: `turn ${i}` }, { headers: { session_id: 'session-77' } }).withResponse();
      accounts.add(response.headers.get('x-gateway-account')!);
    }
    expect(accounts.size).toBe(1);
  });

  it('counts input tokens with or without a model, and compacts on the account that made the response', async () => {
    const client = sdk(gateway.baseURL);
    const withModel = await client.responses.inputTokens.count({ model: 'gpt-4o', input: 'Count these four words' });
    expect(withModel.input_tokens).toBeGreaterThan(0);
    const withoutModel = await client.responses.inputTokens.count({ input: 'Count these four words' });
    expect(withoutModel.input_tokens).toBe(withModel.input_tokens);
    expect(JSON.parse(mock.requests.at(-1)!.rawBody)).toEqual({ input: 'Count these four words' });

    const { data: created, response } = await client.responses.create({ model: 'gpt-4o', input: 'Something to compact' }).withResponse();
    const { response: compacted } = await client.responses.compact({ model: 'gpt-4o', previous_response_id: created.id }).withResponse();
    expect(compacted.headers.get('x-gateway-account')).toBe(response.headers.get('x-gateway-account'));
  });

  it('refuses image models and bad bodies before the upstream, and passes unknown item types through', async () => {
    const client = sdk(gateway.baseURL);
    await expect(client.responses.create({ model: 'gpt-image-2', input: 'x' })).rejects.toMatchObject({ status: 400, code: 'model_not_supported' });
    await expect(client.responses.create({ model: 'gpt-4o', input: 'x', temperature: 5 })).rejects.toMatchObject({ status: 400, param: 'temperature' });
    await expect(client.responses.create({ model: 'gpt-4o', input: 'x', max_output_tokens: 0 })).rejects.toMatchObject({ status: 400 });
    await expect(client.responses.create({ model: 'gpt-4o', input: 42 as unknown as string })).rejects.toMatchObject({ status: 400, param: 'input' });
    expect(mock.requests).toHaveLength(0);
    const raw = { model: 'gpt-4o', input: [{ type: 'message', role: 'user', content: 'hi' }, { type: 'brand_new_item', data: 1 }], tools: [{ type: 'brand_new_tool' }] };
    await rawPost(gateway.baseURL, '/responses', raw, CLIENT_KEY);
    expect(mock.requests[0]!.rawBody).toBe(JSON.stringify(raw));
  });
});
