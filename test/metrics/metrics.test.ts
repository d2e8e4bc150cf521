// Prometheus metrics through a real listening gateway, driven with the official openai client.
import { setTimeout as delay } from 'node:timers/promises';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE } from '../../src/proxy/usage-estimate.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, rows, find, value, type Exposition } from '../helpers/prometheus.js';

const BETA_KEY = 'gw-test-key-beta-7f3a';
const KEY_A = 'sk-upstream-secret-a-0123456789';
const KEY_B = 'sk-upstream-secret-b-9876543210';

interface Tokens {
  prompt: number;
  completion: number;
  cached: number;
}

type ChatUsage = OpenAI.Completions.CompletionUsage;

const tokensOf = (usage: ChatUsage | null | undefined): Tokens => {
  if (!usage) throw new Error('no usage');
  return { prompt: usage.prompt_tokens, completion: usage.completion_tokens, cached: usage.prompt_tokens_details?.cached_tokens ?? 0 };
};

const add = (a: Tokens, b: Tokens): Tokens => ({ prompt: a.prompt + b.prompt, completion: a.completion + b.completion, cached: a.cached + b.cached });

async function scrape(gateway: RunningGateway, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; text: string }> {
  const res = await request(`${gateway.url}/metrics`, { headers });
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text: await res.body.text() };
}

async function metrics(gateway: RunningGateway): Promise<{ text: string; exposition: Exposition }> {
  const { status, text } = await scrape(gateway);
  expect(status).toBe(200);
  return { text, exposition: parsePrometheus(text) };
}

/** The usage the mock reports for a body, asked directly (same deterministic counts, no gateway). */
async function mockUsage(mock: MockUpstream, body: unknown, apiKey: string): Promise<Tokens> {
  const res = await request(`${mock.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...(body as object), stream: false, stream_options: undefined }),
  });
  const json = (await res.body.json()) as { usage: ChatUsage };
  return tokensOf(json.usage);
}

/** `model/client key/account` → its expected token rows (none of these models reasons: 0 reasoning tokens). */
const tokenRows = (series: Record<string, Tokens>): string[] =>
  Object.entries(series)
    .flatMap(([key, t]) => {
      const [model, clientKey, account] = key.split('/');
      const endpoint = model === 'gpt-image-2' ? '/v1/images/generations' : '/v1/chat/completions';
      const labels = `account=${account},client_key=${clientKey},endpoint=${endpoint},model=${model},team=`;
      return [`${labels},type=cached ${t.cached}`, `${labels},type=completion ${t.completion}`, `${labels},type=prompt ${t.prompt}`, `${labels},type=reasoning 0`];
    })
    .sort();

const HELLO: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hello there world' },
];

const WEATHER_TOOL: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('token and request counters match the usage the upstream reported', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let alpha: OpenAI;
  let beta: OpenAI;

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [KEY_A, KEY_B], streamChunks: 3 });
    gateway = await startGateway(
      testConfig(mock.url, {
        clientKeys: [
          { name: 'team-alpha', key: CLIENT_KEY },
          { name: 'team-beta', key: BETA_KEY },
        ],
        upstreams: [
          { name: 'main', baseUrl: mock.url, models: ['gpt-4o', 'gpt-image-2'], accounts: [{ name: 'acct-a', apiKey: KEY_A }] },
          { name: 'mini', baseUrl: mock.url, models: ['gpt-4o-mini'], accounts: [{ name: 'acct-b', apiKey: KEY_B }] },
        ],
      }),
    );
    alpha = gateway.client();
    beta = gateway.client(BETA_KEY);
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('counts the tokens of plain and streamed chats, a tool call, an image and cached prompts exactly', async () => {
    /** Per request, in order: what its log line must carry. */
    const perRequest: Tokens[] = [];

    // 1. A plain chat.
    const plain = await alpha.chat.completions.create({ model: 'gpt-4o', messages: HELLO });
    const plainTokens = tokensOf(plain.usage);
    perRequest.push(plainTokens);

    // 2. A stream that did not ask for usage: the gateway asked for it, and the client does not see it.
    const quiet = await alpha.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Stream me a short answer please' }],
      stream: true,
    });
    let quietText = '';
    for await (const chunk of quiet) {
      expect(chunk.usage ?? null).toBeNull();
      expect(chunk.choices.length).toBeGreaterThan(0);
      quietText += chunk.choices[0]?.delta.content ?? '';
    }
    expect(quietText).toBe('Echo: Stream me a short answer please');
    const forwarded = mock.requests.at(-1)!;
    expect(forwarded.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const quietTokens = await mockUsage(mock, forwarded.body, KEY_A);
    expect(quietTokens).toEqual({ prompt: 6 + 3, completion: 7, cached: 0 });
    perRequest.push(quietTokens);

    // 3. A stream that asked for usage gets the usage chunk.
    const loud = await beta.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Count these five words' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let loudUsage: ChatUsage | null | undefined;
    for await (const chunk of loud) if (chunk.usage) loudUsage = chunk.usage;
    const loudTokens = tokensOf(loudUsage);
    perRequest.push(loudTokens);

    // 4. A tool call.
    const tool = await alpha.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [WEATHER_TOOL],
    });
    expect(tool.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    const toolTokens = tokensOf(tool.usage);
    perRequest.push(toolTokens);

    // 5. An image generation: input and output tokens count as prompt and completion.
    const image = await beta.images.generate({ model: 'gpt-image-2', prompt: 'a red fox in fresh snow' });
    expect(image.usage).toBeDefined();
    const imageTokens: Tokens = { prompt: image.usage!.input_tokens, completion: image.usage!.output_tokens, cached: 0 };
    expect(imageTokens).toEqual({ prompt: 6, completion: 272, cached: 0 });
    perRequest.push(imageTokens);

    // 6. One conversation, twice on the same account: the second prompt is mostly cached.
    const conversation = { headers: { 'x-conversation-id': 'conv-metrics-1' } };
    const first = await alpha.chat.completions.create({ model: 'gpt-4o-mini', messages: HELLO }, conversation);
    const second = await alpha.chat.completions.create({ model: 'gpt-4o-mini', messages: HELLO }, conversation);
    const firstTokens = tokensOf(first.usage);
    const secondTokens = tokensOf(second.usage);
    expect(secondTokens.cached).toBeGreaterThan(0);
    perRequest.push(firstTokens, secondTokens);

    const { text, exposition } = await metrics(gateway);
    expect(rows(exposition, 'gateway_tokens_total')).toEqual(
      tokenRows({
        'gpt-4o/team-alpha/acct-a': add(add(plainTokens, quietTokens), toolTokens),
        'gpt-4o-mini/team-beta/acct-b': loudTokens,
        'gpt-image-2/team-beta/acct-a': imageTokens,
        'gpt-4o-mini/team-alpha/acct-b': add(firstTokens, secondTokens),
      }),
    );
    expect(rows(exposition, 'gateway_requests_total')).toEqual(
      [
        'account=acct-a,client_key=team-alpha,endpoint=/v1/chat/completions,model=gpt-4o,status=200,team= 3',
        'account=acct-b,client_key=team-beta,endpoint=/v1/chat/completions,model=gpt-4o-mini,status=200,team= 1',
        'account=acct-a,client_key=team-beta,endpoint=/v1/images/generations,model=gpt-image-2,status=200,team= 1',
        'account=acct-b,client_key=team-alpha,endpoint=/v1/chat/completions,model=gpt-4o-mini,status=200,team= 2',
      ].sort(),
    );

    // Histograms: one observation per request, with exactly the documented labels.
    const count = (name: string, labels: Record<string, string>): number | undefined => value(exposition, `${name}_count`, labels);
    expect(count('gateway_request_duration_seconds', { endpoint: '/v1/chat/completions', model: 'gpt-4o' })).toBe(3);
    expect(count('gateway_request_duration_seconds', { endpoint: '/v1/chat/completions', model: 'gpt-4o-mini' })).toBe(3);
    expect(count('gateway_request_duration_seconds', { endpoint: '/v1/images/generations', model: 'gpt-image-2' })).toBe(1);
    expect(count('gateway_overhead_seconds', { endpoint: '/v1/chat/completions' })).toBe(6);
    expect(count('gateway_overhead_seconds', { endpoint: '/v1/images/generations' })).toBe(1);
    expect(count('gateway_time_to_first_token_seconds', { model: 'gpt-4o' })).toBe(1);
    expect(count('gateway_time_to_first_token_seconds', { model: 'gpt-4o-mini' })).toBe(1);
    expect(find(exposition, 'gateway_time_to_first_token_seconds_count')).toHaveLength(2);
    for (const [name, labels] of [
      ['gateway_request_duration_seconds', ['endpoint', 'model']],
      ['gateway_overhead_seconds', ['endpoint']],
      ['gateway_time_to_first_token_seconds', ['model']],
    ] as const) {
      expect(exposition.types.get(name)).toBe('histogram');
      for (const s of find(exposition, `${name}_bucket`)) expect(Object.keys(s.labels).sort()).toEqual([...labels, 'le'].sort());
      for (const s of find(exposition, `${name}_count`)) {
        expect(Object.keys(s.labels).sort()).toEqual([...labels].sort());
        expect(value(exposition, `${name}_bucket`, { ...s.labels, le: '+Inf' })).toBe(s.value);
      }
    }
    // The gateway's own time is part of the whole, and small next to the upstream's for these requests.
    const durationSum = value(exposition, 'gateway_request_duration_seconds_sum', { endpoint: '/v1/chat/completions', model: 'gpt-4o' })!;
    const overheadSum = value(exposition, 'gateway_overhead_seconds_sum', { endpoint: '/v1/chat/completions' })!;
    expect(durationSum).toBeGreaterThan(0);
    expect(overheadSum).toBeGreaterThan(0);
    expect(overheadSum).toBeLessThan(
      durationSum + value(exposition, 'gateway_request_duration_seconds_sum', { endpoint: '/v1/chat/completions', model: 'gpt-4o-mini' })!,
    );

    // No key, upstream or client, appears anywhere.
    for (const secret of [CLIENT_KEY, BETA_KEY, KEY_A, KEY_B]) expect(text).not.toContain(secret);

    // Every request's log line carries its token counts.
    const lines = gateway.logs.lines.filter((l) => typeof l.msg === 'string' && /^POST \/v1\//.test(l.msg));
    expect(lines.map((l) => l.tokens)).toEqual(perRequest.map((t) => ({ ...t, reasoning: 0, total: t.prompt + t.completion })));
  });
});

describe('requests refused early, and label values', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(testConfig(mock.url));
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('counts a request refused before auth or routing with client_key, model and account "none"', async () => {
    const wrongKey = 'sk-not-a-gateway-key-5551234';
    await expect(gateway.client(wrongKey).chat.completions.create({ model: 'gpt-4o', messages: HELLO })).rejects.toMatchObject({ status: 401 });
    await expect(gateway.client().chat.completions.create({ model: 'model-from-a-client-<script>', messages: HELLO })).rejects.toMatchObject({
      status: 404,
    });
    const stray = await request(`${gateway.url}/v1/nothing-here?user=someone`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await stray.body.dump();
    expect(stray.statusCode).toBe(404);
    const models = await gateway.client().models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const health = await request(`${gateway.url}/healthz`);
    await health.body.dump();

    const { text, exposition } = await metrics(gateway);
    expect(rows(exposition, 'gateway_requests_total')).toEqual(
      [
        'account=none,client_key=none,endpoint=/v1/chat/completions,model=none,status=401,team= 1',
        'account=none,client_key=team-alpha,endpoint=/v1/chat/completions,model=none,status=404,team= 1',
        'account=none,client_key=none,endpoint=none,model=none,status=404,team= 1',
        'account=none,client_key=team-alpha,endpoint=/v1/models,model=none,status=200,team= 1',
      ].sort(),
    );
    // Refused requests report no usage, so they add no token series.
    expect(find(exposition, 'gateway_tokens_total')).toEqual([]);
    for (const free of [wrongKey, CLIENT_KEY, 'sk-upstream-secret-a-0123456789', 'model-from-a-client', 'nothing-here', 'someone', 'healthz']) {
      expect(text).not.toContain(free);
    }
    // The log line of a refused request still carries (zero) token counts.
    const refused = gateway.logs.lines.find((l) => l.status === 401)!;
    expect(refused.tokens).toEqual({ prompt: 0, completion: 0, cached: 0, reasoning: 0, total: 0 });
  });

  it('serves the text format with the default process metrics and the metric types', async () => {
    const { status, contentType, text } = await scrape(gateway);
    expect(status).toBe(200);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const exposition = parsePrometheus(text);
    expect(exposition.types.get('gateway_requests_total')).toBe('counter');
    expect(exposition.types.get('gateway_tokens_total')).toBe('counter');
    expect(exposition.types.get('gateway_upstream_errors_total')).toBe('counter');
    expect(exposition.types.get('gateway_sticky_routing_total')).toBe('counter');
    expect(exposition.types.get('gateway_usage_estimated_total')).toBe('counter');
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(exposition.types.has(name), name).toBe(true);
    }
    // Each family once, though several gateways share this process.
    const typeLines = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(typeLines).size).toBe(typeLines.length);
  });

  it('starts the estimated-usage count at zero for each endpoint whose streams can be estimated', async () => {
    const { exposition } = await metrics(gateway);
    expect(rows(exposition, 'gateway_usage_estimated_total')).toEqual(['endpoint=/v1/chat/completions 0', 'endpoint=/v1/completions 0', 'endpoint=/v1/messages 0', 'endpoint=/v1/responses 0']);
  });

  it('starts every sticky routing result at zero and counts what the selector reports', async () => {
    let { exposition } = await metrics(gateway);
    expect(rows(exposition, 'gateway_sticky_routing_total')).toEqual(['result=fallback 0', 'result=hit 0', 'result=new 0', 'result=repinned 0']);
    gateway.app.services.metrics.stickyRouting('hit');
    gateway.app.services.metrics.stickyRouting('hit');
    gateway.app.services.metrics.stickyRouting('repinned');
    ({ exposition } = await metrics(gateway));
    expect(rows(exposition, 'gateway_sticky_routing_total')).toEqual(['result=fallback 0', 'result=hit 2', 'result=new 0', 'result=repinned 1']);
  });
});

describe('upstream errors', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [KEY_A, KEY_B] });
    gateway = await startGateway(
      testConfig(mock.url, {
        upstreams: [
          {
            name: 'main',
            baseUrl: mock.url,
            accounts: [
              { name: 'acct-a', apiKey: KEY_A },
              { name: 'acct-b', apiKey: KEY_B },
            ],
          },
        ],
      }),
    );
  });
  afterEach(() => {
    mock.fault = undefined;
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('counts a failed attempt by account and reason, and the request by the account that served it', async () => {
    let before = await metrics(gateway);
    expect(rows(before.exposition, 'gateway_upstream_errors_total')).toEqual(
      ['acct-a', 'acct-b'].flatMap((account) =>
        ['bad_key', 'rate_limited', 'server_error', 'timeout', 'unreachable'].map((reason) => `account=${account},reason=${reason} 0`),
      ),
    );

    const failOnce = (status: number): void => {
      let failed = false;
      mock.fault = () => {
        if (failed) return undefined;
        failed = true;
        return { kind: 'status', status };
      };
    };
    failOnce(500);
    const first = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: HELLO }).withResponse();
    const failedAccount = first.response.headers.get('x-gateway-account') === 'acct-a' ? 'acct-b' : 'acct-a';
    failOnce(429);
    const second = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: HELLO }).withResponse();
    const rateLimited = second.response.headers.get('x-gateway-account') === 'acct-a' ? 'acct-b' : 'acct-a';

    before = await metrics(gateway);
    expect(value(before.exposition, 'gateway_upstream_errors_total', { account: failedAccount, reason: 'server_error' })).toBe(1);
    expect(value(before.exposition, 'gateway_upstream_errors_total', { account: rateLimited, reason: 'rate_limited' })).toBe(1);
    const total = find(before.exposition, 'gateway_upstream_errors_total').reduce((n, s) => n + s.value, 0);
    expect(total).toBe(2);
    const served = find(before.exposition, 'gateway_requests_total', { status: '200' }).reduce((n, s) => n + s.value, 0);
    expect(served).toBe(2);
    for (const secret of [KEY_A, KEY_B]) expect(before.text).not.toContain(secret);
  });
});

describe('upstream timeouts, unreachable upstreams and clients that leave', () => {
  let mock: MockUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream({ chunkDelayMs: 40, streamChunks: 20 });
  });
  afterEach(() => {
    mock.fault = undefined;
  });
  afterAll(async () => {
    await mock.close();
  });

  it('counts an upstream that does not answer in time as a timeout', async () => {
    const gateway = await startGateway(testConfig(mock.url, { timeouts: { upstreamMs: 150 } }));
    try {
      mock.fault = () => ({ kind: 'delay-headers', ms: 2_000 });
      await expect(gateway.client().chat.completions.create({ model: 'gpt-4o', messages: HELLO })).rejects.toMatchObject({ status: 504 });
      const { exposition } = await metrics(gateway);
      expect(value(exposition, 'gateway_upstream_errors_total', { account: 'acct-a', reason: 'timeout' })).toBe(1);
      expect(value(exposition, 'gateway_requests_total', { endpoint: '/v1/chat/completions', model: 'gpt-4o', client_key: 'team-alpha', team: '', account: 'acct-a', status: '504' })).toBe(1);
    } finally {
      await gateway.close();
    }
  });

  it('counts an upstream that cannot be reached as unreachable', async () => {
    const closed = await startMockUpstream();
    const url = closed.url;
    await closed.close();
    const gateway = await startGateway(testConfig(url));
    try {
      await expect(gateway.client().chat.completions.create({ model: 'gpt-4o', messages: HELLO })).rejects.toMatchObject({ status: 502 });
      const { exposition } = await metrics(gateway);
      expect(value(exposition, 'gateway_upstream_errors_total', { account: 'acct-a', reason: 'unreachable' })).toBe(1);
    } finally {
      await gateway.close();
    }
  });

  it('logs and counts a stream its client left half-way as 499, outside the latency histograms', async () => {
    const WORDS = 'one two three four five six seven eight nine ten';
    const gateway = await startGateway(testConfig(mock.url));
    try {
      const abort = new AbortController();
      const res = await request(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        signal: abort.signal,
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: WORDS }] }),
      });
      res.body.on('error', () => {});
      await new Promise((resolve) => res.body.once('data', resolve));
      await delay(150);
      abort.abort();
      await expect.poll(() => gateway.logs.lines.find((l) => l.msg === 'POST /v1/chat/completions')).toBeDefined();

      const line = gateway.logs.lines.find((l) => l.msg === 'POST /v1/chat/completions')!;
      // Its usage never came: it is charged an estimate (the prompt in one message; the deltas delivered).
      const prompt = countTokens(WORDS) + TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS;
      expect(line).toMatchObject({ status: 499, clientKey: 'team-alpha', model: 'gpt-4o', account: 'acct-a', usageEstimated: true, tokens: { prompt, cached: 0, reasoning: 0 } });
      const completion = (line.tokens as { completion: number }).completion;
      expect(completion).toBeGreaterThan(0);
      const { exposition } = await metrics(gateway);
      expect(rows(exposition, 'gateway_requests_total')).toEqual(['account=acct-a,client_key=team-alpha,endpoint=/v1/chat/completions,model=gpt-4o,status=499,team= 1']);
      expect(rows(exposition, 'gateway_usage_estimated_total')).toEqual(['endpoint=/v1/chat/completions 1', 'endpoint=/v1/completions 0', 'endpoint=/v1/messages 0', 'endpoint=/v1/responses 0']);
      const tokens = { endpoint: '/v1/chat/completions', model: 'gpt-4o', client_key: 'team-alpha', team: '', account: 'acct-a' };
      expect(value(exposition, 'gateway_tokens_total', { ...tokens, type: 'prompt' })).toBe(prompt);
      expect(value(exposition, 'gateway_tokens_total', { ...tokens, type: 'completion' })).toBe(completion);
      expect(find(exposition, 'gateway_request_duration_seconds_count')).toEqual([]);
      expect(find(exposition, 'gateway_overhead_seconds_count')).toEqual([]);
      // Its first token did arrive.
      expect(value(exposition, 'gateway_time_to_first_token_seconds_count', { model: 'gpt-4o' })).toBe(1);
      expect(gateway.logs.lines.filter((l) => l.msg === 'POST /v1/chat/completions')).toHaveLength(1);
    } finally {
      await gateway.close();
    }
  });
});

describe('metrics config', () => {
  let mock: MockUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream();
  });
  afterAll(async () => {
    await mock.close();
  });

  it('protects the scrape with metrics.bearerToken, which client keys do not open', async () => {
    const gateway = await startGateway(testConfig(mock.url, { metrics: { bearerToken: 'scrape-token-0d1e' } }));
    try {
      for (const authorization of [undefined, `Bearer ${CLIENT_KEY}`, 'Bearer scrape-token-0d1f', 'Basic c2NyYXBl']) {
        const res = await scrape(gateway, authorization === undefined ? {} : { authorization });
        expect(res.status).toBe(401);
        const body = JSON.parse(res.text) as { error: Record<string, unknown> };
        expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
        expect(typeof body.error.message).toBe('string');
      }
      const ok = await scrape(gateway, { authorization: 'Bearer scrape-token-0d1e' });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('# TYPE gateway_requests_total counter');
      expect(ok.text).not.toContain('scrape-token');
    } finally {
      await gateway.close();
    }
  });

  it('serves the metrics on metrics.path, and nothing when metrics are disabled', async () => {
    const moved = await startGateway(testConfig(mock.url, { metrics: { path: '/internal/metrics' } }));
    const off = await startGateway(testConfig(mock.url, { metrics: { enabled: false } }));
    try {
      const res = await request(`${moved.url}/internal/metrics`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toContain('gateway_requests_total');
      expect((await scrape(moved)).status).toBe(404);

      expect((await scrape(off)).status).toBe(404);
      const answer = await off.client().chat.completions.create({ model: 'gpt-4o', messages: HELLO });
      expect(answer.usage?.prompt_tokens).toBe(12);
      off.app.services.metrics.stickyRouting('hit');
    } finally {
      await moved.close();
      await off.close();
    }
  });

  it('refuses a metrics path that clashes with the API or the health check', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    for (const path of ['/v1/models', '/healthz', 'metrics', '/metrics?x=1']) {
      expect(() => parseConfig(testConfig(mock.url, { metrics: { path } }), {})).toThrow(/metrics\.path/);
    }
    expect(() => parseConfig(testConfig(mock.url, { metrics: { bearerToken: '' } }), {})).toThrow(/metrics\.bearerToken/);
  });
});
