// A client that leaves a stream before the upstream's usage arrives is charged an estimate, through a real
// listening gateway and the official SDK: the prompt counted with the model's encoding and the text and
// tool-call deltas delivered, in the log line (`usageEstimated: true`), gateway_tokens_total,
// gateway_usage_estimated_total, the cost and the key's token counts. A client that stays is never estimated.
import { setTimeout as delay } from 'node:timers/promises';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE } from '../../src/proxy/usage-estimate.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, total, value } from '../helpers/prometheus.js';
import { chatChunk, contentChunk, DONE_EVENT, finishChunk, startScriptedUpstream, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
/** $2 per million input tokens, $8 per million output: whole micro-dollars per token. */
const PRICE = { inputPerMillion: 2, outputPerMillion: 8 };
const KEYS = ['probe', 'legacy', 'chat-text', 'chat-tools', 'after-finish', 'stays', 'stays-no-usage', 'responses-stays'];
const keyOf = (name: string): string => `gw-estimate-key-${name}`;
/** The gateway's clock stands still in the middle of a minute: the counts of a test all fall in one window. */
const MID_MINUTE = Date.UTC(2026, 10, 30, 12, 0, 30);
/** One message's framing and the reply's, as the estimate adds them. */
const ONE_MESSAGE = TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS;

type Line = Record<string, unknown> & { status: number; tokens: { prompt: number; completion: number; total: number }; costUsd: number };

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = read();
    if (found !== undefined) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Resolves when the upstream's response to the gateway closes. */
const closed = (res: import('node:http').ServerResponse): Promise<void> => new Promise((resolve) => res.once('close', () => resolve()));

describe('a stream its client leaves before the usage', () => {
  const clients = new Agent();
  // The SDK types `dispatcher` against the undici types bundled with Node, a different copy of the same class.
  const fetchOptions = { dispatcher: clients } as NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetchOptions'];
  let mock: MockUpstream;
  let scripted: ScriptedUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    // 50 deltas a stream, 25 ms apart: a client that leaves after 48 of them leaves before the usage.
    mock = await startMockUpstream({ streamChunks: 50, chunkDelayMs: 25 });
    scripted = await startScriptedUpstream(async (body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const content = (body.messages as { content: string }[])[0]!.content;
      if (content === 'tools') {
        const call = (fn: object, id?: string): string =>
          chatChunk(`[{"index":0,"delta":{"tool_calls":[${JSON.stringify({ index: 0, ...(id === undefined ? {} : { id, type: 'function' }), function: fn })}]},"finish_reason":null}]`);
        res.write(call({ name: 'get_weather', arguments: '' }, 'call_1') + call({ arguments: '{"city":' }) + call({ arguments: '"Paris","unit":"celsius"}' }));
      } else if (content === 'after finish') {
        // The finish chunk, then nothing: the usage never comes.
        res.write(contentChunk('All done here.') + finishChunk());
      } else if (content === 'no usage') {
        // An upstream that never reports usage, to a client that stays to the end.
        res.end(contentChunk('Plain answer.') + finishChunk() + DONE_EVENT);
        return;
      } else {
        res.write(contentChunk('Bonjour') + contentChunk(', le monde') + contentChunk(' entier !'));
      }
      // The rest (and the usage) would come later: the upstream waits until the gateway closes it.
      await closed(res);
    });
    gateway = await startGateway(
      {
        ...testConfig(mock.url, {
          adminToken: ADMIN_TOKEN,
          clientKeys: [
            ...KEYS.map((name) => ({ name, key: keyOf(name), limits: { tokensPerMinute: 1_000_000 } })),
            // Admits a request of a hundred words (it reserves about a quarter of its bytes and 1 answer token), not the next one.
            { name: 'limited', key: keyOf('limited'), limits: { tokensPerMinute: 150, reserveTokens: 1 } },
          ],
          models: [
            { id: 'gpt-4o', kind: 'chat', pricing: PRICE },
            { id: 'scripted-4o', kind: 'chat', pricing: PRICE },
          ],
        }),
        upstreams: [
          { name: 'mock', baseUrl: mock.url, models: ['gpt-4o', 'gpt-3.5-turbo-instruct'], accounts: [{ name: 'acct-a', apiKey: 'sk-upstream-secret-a-0123456789' }] },
          { name: 'scripted', baseUrl: scripted.url, models: ['scripted-4o'], accounts: [{ name: 'acct-s', apiKey: 'sk-upstream-secret-s-0123456789' }] },
        ],
      },
      {},
      { clock: () => MID_MINUTE },
    );
  });
  afterAll(async () => {
    await clients.destroy();
    await gateway?.close();
    await mock?.close();
    await scripted?.close();
  });

  const client = (name: string): OpenAI => gateway.client(keyOf(name), { fetchOptions });
  const linesOf = (name: string): Line[] => gateway.logs.lines.filter((l) => l.clientKey === name && typeof l.status === 'number') as Line[];
  const lineOf = (name: string): Promise<Line> => until(() => linesOf(name)[0], `${name}'s log line`);
  const scrape = async () => parsePrometheus(await (await request(`${gateway.url}/metrics`, { dispatcher: clients })).body.text());
  async function keyUsage(name: string): Promise<{ tokensThisMinute: number; costUsd: { today: number } }> {
    const response = await request(`${gateway.url}/admin/usage`, { dispatcher: clients, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const rows = ((await response.body.json()) as { data: { name: string; tokensThisMinute: number; costUsd: { today: number } }[] }).data;
    return rows.find((row) => row.name === name)!;
  }
  const costOf = (tokens: { prompt: number; completion: number }): number => (tokens.prompt * PRICE.inputPerMillion + tokens.completion * PRICE.outputPerMillion) / 1_000_000;

  it('charges 20 streamed Responses requests that each read 48 of 50 deltas and leave', async () => {
    const input = 'Please repeat this sentence back to me, word for word, so that the answer is long enough to stream.';
    const answer = `Echo: ${input}`;
    const runs = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const stream = await client('probe').responses.create({ model: 'gpt-4o', input, stream: true });
        let deltas = 0;
        let text = '';
        for await (const event of stream) {
          if (event.type !== 'response.output_text.delta') continue;
          text += event.delta;
          if (++deltas === 48) break; // closes the connection
        }
        return { deltas, text };
      }),
    );
    expect(runs.every((run) => run.deltas === 48)).toBe(true);

    const lines = await until(() => (linesOf('probe').length === 20 ? linesOf('probe') : undefined), 'the 20 log lines');
    const promptTokens = countTokens(input) + ONE_MESSAGE;
    for (const [i, line] of lines.entries()) {
      expect(line).toMatchObject({ status: 499, model: 'gpt-4o', usageEstimated: true, tokens: { prompt: promptTokens, cached: 0, reasoning: 0 } });
      // What was delivered: the 48 deltas the client read, and at most the rest of the answer.
      expect(line.tokens.completion).toBeGreaterThanOrEqual(countTokens(runs[i]!.text) - 1);
      expect(line.tokens.completion).toBeLessThanOrEqual(countTokens(answer));
      expect(line.tokens.total).toBe(line.tokens.prompt + line.tokens.completion);
      expect(line.costUsd).toBeCloseTo(costOf(line.tokens), 9);
    }
    const sum = (pick: (line: Line) => number): number => lines.reduce((n, line) => n + pick(line), 0);

    const metrics = await scrape();
    const labels = { endpoint: '/v1/responses', model: 'gpt-4o', client_key: 'probe', team: '', account: 'acct-a' };
    expect(value(metrics, 'gateway_usage_estimated_total', { endpoint: '/v1/responses' })).toBe(20);
    expect(value(metrics, 'gateway_tokens_total', { ...labels, type: 'prompt' })).toBe(20 * promptTokens);
    expect(value(metrics, 'gateway_tokens_total', { ...labels, type: 'completion' })).toBe(sum((l) => l.tokens.completion));
    expect(value(metrics, 'gateway_requests_total', { ...labels, status: '499' })).toBe(20);
    expect(total(metrics, 'gateway_cost_usd_total', { client_key: 'probe' })).toBeCloseTo(sum((l) => l.costUsd), 9);

    // The key's token limit and budget see them.
    const usage = await keyUsage('probe');
    expect(usage.tokensThisMinute).toBe(sum((l) => l.tokens.total));
    expect(usage.costUsd.today).toBeCloseTo(sum((l) => l.costUsd), 9);
  });

  it("counts the estimate against the key's token limit: the next request is refused", async () => {
    const input = Array.from({ length: 100 }, () => 'a').join(' ');
    const stream = await client('limited').responses.create({ model: 'gpt-4o', input, stream: true });
    let deltas = 0;
    for await (const event of stream) if (event.type === 'response.output_text.delta' && ++deltas === 48) break;
    const line = await lineOf('limited');
    expect(line).toMatchObject({ status: 499, usageEstimated: true, tokens: { prompt: countTokens(input) + ONE_MESSAGE } });
    expect(line.tokens.total).toBeGreaterThan(150);
    expect((await keyUsage('limited')).tokensThisMinute).toBe(line.tokens.total);
    const refused = await client('limited').responses.create({ model: 'gpt-4o', input: 'hi' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("charges a legacy completion stream left half-way, counted with the older model's encoding (cl100k_base)", async () => {
    const prompt = 'Count these words with the encoding of GPT-3.5, which is not the one of GPT-4o';
    const stream = await client('legacy').completions.create({ model: 'gpt-3.5-turbo-instruct', prompt, stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (++chunks === 25) break;
    }
    const line = await lineOf('legacy');
    // A prompt with no messages: no framing tokens.
    expect(line).toMatchObject({ status: 499, model: 'gpt-3.5-turbo-instruct', usageEstimated: true, tokens: { prompt: cl100k(prompt) } });
    expect(cl100k(prompt)).not.toBe(countTokens(prompt));
    expect(line.tokens.completion).toBeGreaterThanOrEqual(cl100k(text) - 1);
    expect(line.tokens.completion).toBeLessThanOrEqual(cl100k(`Echo: ${prompt}`));
    expect(value(await scrape(), 'gateway_usage_estimated_total', { endpoint: '/v1/completions' })).toBe(1);
  });

  it('charges a chat stream left after some text deltas for exactly the text delivered', async () => {
    const stream = await client('chat-text').chat.completions.create({ model: 'scripted-4o', messages: [{ role: 'user', content: 'Salut' }], stream: true });
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (text.endsWith('entier !')) break;
    }
    const line = await lineOf('chat-text');
    const tokens = { prompt: countTokens('Salut') + ONE_MESSAGE, completion: countTokens('Bonjour, le monde entier !') };
    expect(line).toMatchObject({ status: 499, usageEstimated: true, tokens: { ...tokens, total: tokens.prompt + tokens.completion } });
    expect(line.costUsd).toBeCloseTo(costOf(tokens), 9);
    expect((await keyUsage('chat-text')).tokensThisMinute).toBe(tokens.prompt + tokens.completion);
    expect(value(await scrape(), 'gateway_usage_estimated_total', { endpoint: '/v1/chat/completions' })).toBeGreaterThanOrEqual(1);
  });

  it('charges a chat stream left during a tool call for the tool definitions, its name and its arguments', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const stream = await client('chat-tools').chat.completions.create({ model: 'scripted-4o', messages: [{ role: 'user', content: 'tools' }], tools, stream: true });
    let args = '';
    for await (const chunk of stream) {
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      if (args.endsWith('}')) break;
    }
    expect(args).toBe('{"city":"Paris","unit":"celsius"}');
    const line = await lineOf('chat-tools');
    expect(line).toMatchObject({
      status: 499,
      usageEstimated: true,
      tokens: { prompt: countTokens('tools') + countTokens(JSON.stringify(tools)) + ONE_MESSAGE, completion: countTokens(`get_weather${args}`) },
    });
  });

  it('reads on after the finish chunk and charges an estimate only once the usage has not come', async () => {
    const stream = await client('after-finish').chat.completions.create({ model: 'scripted-4o', messages: [{ role: 'user', content: 'after finish' }], stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) break;
    // The gateway waits (5 s) for a usage that never comes, then estimates.
    const line = await lineOf('after-finish');
    expect(line).toMatchObject({ status: 499, usageEstimated: true, tokens: { prompt: countTokens('after finish') + ONE_MESSAGE, completion: countTokens('All done here.') } });
  });

  it('does not estimate a chat stream whose client stays to the end: the usage reported is counted', async () => {
    const stream = await client('stays').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: one two three');
    const line = await lineOf('stays');
    // The mock's own count: 3 words and 3 for the message; 4 words answered.
    expect(line).toMatchObject({ status: 200, tokens: { prompt: 6, completion: 4, total: 10 } });
    expect(line).not.toHaveProperty('usageEstimated');
  });

  it('does not estimate a stream whose client stays, even when the upstream reports no usage', async () => {
    const stream = await client('stays-no-usage').chat.completions.create({ model: 'scripted-4o', messages: [{ role: 'user', content: 'no usage' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Plain answer.');
    const line = await lineOf('stays-no-usage');
    expect(line).toMatchObject({ status: 200, tokens: { total: 0 } });
    expect(line).not.toHaveProperty('usageEstimated');
  });

  it('does not estimate a Responses stream whose client stays to the end', async () => {
    const before = value(await scrape(), 'gateway_usage_estimated_total', { endpoint: '/v1/responses' });
    const stream = await client('responses-stays').responses.create({ model: 'gpt-4o', input: 'alpha beta', stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event.response;
    const line = await lineOf('responses-stays');
    expect(line).toMatchObject({ status: 200, tokens: { prompt: completed!.usage!.input_tokens, completion: completed!.usage!.output_tokens } });
    expect(line).not.toHaveProperty('usageEstimated');
    expect(value(await scrape(), 'gateway_usage_estimated_total', { endpoint: '/v1/responses' })).toBe(before);
  });
});
