// An answer read whole to be translated has a ceiling: a chat model's runaway answer of unannounced length
// is cut at 16 MiB and answered as an upstream failure in Anthropic's envelope, without holding the rest.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient } from '../helpers/anthropic.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startScriptedUpstream, writeRespectingBackpressure, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const MODEL = 'gpt-5.3-codex';
const MiB = 1024 * 1024;

const HEAD = '{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"gpt-5.3-codex","choices":[{"index":0,"message":{"role":"assistant","content":"';
const TAIL = '"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}';
/** The length of the text that makes a whole chat completion `bytes` long. */
const textLength = (bytes: number): number => bytes - HEAD.length - TAIL.length;

describe('an answer translated whole', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  let answerBytes = 0;

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (_body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Sent chunked: no content-length announces the size.
      await writeRespectingBackpressure(res, Buffer.from(HEAD + 'a'.repeat(textLength(answerBytes)) + TAIL));
    });
    gateway = await startGateway(
      testConfig(upstream.url, {
        upstreams: [{ name: 'openai', baseUrl: upstream.url, models: [MODEL], accounts: [{ name: 'acct-a', apiKey: 'sk-upstream-secret-a-0123456789' }] }],
      }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const ask = (): Promise<Anthropic.Message> =>
    anthropicClient(gateway, CLIENT_KEY).messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] });

  it('is translated up to 16 MiB', async () => {
    answerBytes = 16 * MiB - 1024;
    const message = await ask();
    const [block] = message.content;
    expect(block?.type).toBe('text');
    expect(block?.type === 'text' ? block.text.length : 0).toBe(textLength(answerBytes));
    expect(message.usage.output_tokens).toBe(5);
  });

  it('is refused past 16 MiB with a 502 api_error in Anthropic’s envelope', async () => {
    answerBytes = 17 * MiB;
    const error = await ask().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('16 MiB') } });
  });
});
