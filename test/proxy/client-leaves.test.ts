// A client that leaves a stream early: after the finish chunk the gateway reads on for the usage, so the
// tokens are counted in the limits, /admin/usage, the metrics and the log line; before it, the upstream
// is closed at once and an estimate is charged (see usage-estimate.test.ts).
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';
import { contentChunk, DONE_EVENT, finishChunk, startScriptedUpstream, usageChunk, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const PROMPT_TOKENS = 12;
const COMPLETION_TOKENS = 18;
const TOTAL = PROMPT_TOKENS + COMPLETION_TOKENS;
/** Below one request's usage: a key that spent it is refused until the minute ends. */
const TOKENS_PER_MINUTE = 20;
/** How late the usage chunk follows the finish chunk when the upstream sends it "a moment later". */
const USAGE_DELAY_MS = 300;

type Timing = 'same-write' | 'later';
const CASES: { timing: Timing; askedForUsage: boolean }[] = [
  { timing: 'same-write', askedForUsage: true },
  { timing: 'same-write', askedForUsage: false },
  { timing: 'later', askedForUsage: true },
  { timing: 'later', askedForUsage: false },
];
const keyName = (timing: string, asked: boolean): string => `${timing}-${asked ? 'asked' : 'added'}`;
const keyOf = (name: string): string => `gw-key-${name}`;

/** The gateway's clock stands still in the middle of a minute: the counts of a test all fall in one window. */
const MID_MINUTE = Date.UTC(2026, 10, 30, 12, 0, 30);

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('a client that leaves a stream', () => {
  const clients = new Agent();
  // The SDK types `dispatcher` against the undici types bundled with Node, a different copy of the same class.
  const sdkFetchOptions = { dispatcher: clients } as NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetchOptions'];
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  /** Per request, in order: whether the upstream's response was closed before it could write the finish chunk. */
  const cutEarly: boolean[] = [];

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(contentChunk('Hello'));
      const content = (body.messages as { content: string }[])[0]!.content;
      if (content === 'slow') {
        // Waits for the client to see the first chunk (and leave) before finishing.
        const closed = await Promise.race([new Promise<boolean>((resolve) => res.once('close', () => resolve(true))), delay(3_000).then(() => false)]);
        cutEarly.push(closed);
        if (closed) return;
      }
      if (content === 'later') {
        res.write(contentChunk(' world') + finishChunk());
        await delay(USAGE_DELAY_MS);
        res.write(usageChunk(PROMPT_TOKENS, COMPLETION_TOKENS));
      } else {
        res.write(contentChunk(' world') + finishChunk() + usageChunk(PROMPT_TOKENS, COMPLETION_TOKENS));
      }
      // `[DONE]` comes late, so the client leaves before the response ends.
      await Promise.race([new Promise((resolve) => res.once('close', resolve)), delay(2_000)]);
      if (!res.destroyed) res.end(DONE_EVENT);
    });
    const names = [...CASES.map((c) => keyName(c.timing, c.askedForUsage)), 'early'];
    gateway = await startGateway(
      testConfig(upstream.url, {
        adminToken: ADMIN_TOKEN,
        clientKeys: names.map((name) => ({ name, key: keyOf(name), limits: { tokensPerMinute: TOKENS_PER_MINUTE } })),
      }),
      {},
      { clock: () => MID_MINUTE },
    );
  });
  afterAll(async () => {
    // The client connections first: a connection opened but not used yet would hold the gateway's close.
    await clients.destroy();
    await gateway?.close();
    await upstream?.close();
  });

  function streamFor(name: string, content: string, askedForUsage: boolean) {
    return gateway
      .client(keyOf(name), { fetchOptions: sdkFetchOptions })
      .chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content }],
        stream: true,
        ...(askedForUsage ? { stream_options: { include_usage: true } } : {}),
      });
  }

  const logLine = (name: string): Record<string, unknown> | undefined => gateway.logs.lines.find((l) => l.clientKey === name && l.msg === 'POST /v1/chat/completions');

  for (const { timing, askedForUsage } of CASES) {
    const name = keyName(timing, askedForUsage);
    it(`counts the tokens of a client that closes right after the finish chunk (usage ${timing === 'later' ? 'a moment later' : 'in the same write'}, ${askedForUsage ? 'asked for' : 'added by the gateway'})`, async () => {
      const stream = await streamFor(name, timing, askedForUsage);
      let sawFinish = false;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.finish_reason) {
          sawFinish = true;
          break; // closes the connection
        }
      }
      expect(sawFinish).toBe(true);
      await until(() => logLine(name) !== undefined, 'the log line');

      expect(logLine(name)).toMatchObject({ status: 499, tokens: { prompt: PROMPT_TOKENS, completion: COMPLETION_TOKENS, total: TOTAL } });
      // The upstream's usage came: nothing was estimated.
      expect(logLine(name)).not.toHaveProperty('usageEstimated');

      const refused = await streamFor(name, timing, askedForUsage).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);

      const usage = (await (await request(`${gateway.url}/admin/usage`, { dispatcher: clients, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).body.json()) as {
        data: { name: string; tokensThisMinute: number }[];
      };
      expect(usage.data.find((row) => row.name === name)?.tokensThisMinute).toBe(TOTAL);

      const metrics = parsePrometheus(await (await request(`${gateway.url}/metrics`, { dispatcher: clients })).body.text());
      const labels = { endpoint: '/v1/chat/completions', model: 'gpt-4o', client_key: name, team: '', account: 'acct-a' };
      expect(value(metrics, 'gateway_tokens_total', { ...labels, type: 'prompt' })).toBe(PROMPT_TOKENS);
      expect(value(metrics, 'gateway_tokens_total', { ...labels, type: 'completion' })).toBe(COMPLETION_TOKENS);
    });
  }

  it('closes the upstream at once when the client leaves before the finish chunk', async () => {
    const stream = await streamFor('early', 'slow', true);
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break;
    }
    await until(() => cutEarly.length === 1, 'the upstream to finish or be closed');
    expect(cutEarly).toEqual([true]);
    await until(() => logLine('early') !== undefined, 'the log line');
    // The usage never came: the request is charged an estimate of what the upstream generated for it, the
    // prompt ("slow", 1 token, in one message: 1 + 3 + 3) and the one delta delivered ("Hello", 1 token).
    expect(logLine('early')).toMatchObject({ status: 499, usageEstimated: true, tokens: { prompt: 7, completion: 1, total: 8 } });
  });
});
