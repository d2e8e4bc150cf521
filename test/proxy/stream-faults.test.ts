// Streams that break inside an event, through a gateway to the official SDK: the client never sees the
// truncated event, and the SDK raises its APIError from the error event that replaces it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { contentChunk, finishChunk, startScriptedUpstream, usageChunk, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const FULL_EVENT = contentChunk('this event never ends');
/** Cut after its choices began: past the point where the gateway used to release an event's head. */
const HALF_EVENT = FULL_EVENT.slice(0, FULL_EVENT.indexOf('never'));

describe('a stream cut inside an event', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const how = (body.messages as { content: string }[])[0]!.content;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (how === 'no-space-done') {
        res.end(contentChunk('Hello') + finishChunk() + usageChunk(3, 1) + 'data:[DONE]\n\n');
        return;
      }
      res.write(contentChunk('Hello'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.write(HALF_EVENT);
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (how === 'reset') res.socket?.destroy();
      else res.end();
    });
    gateway = await startGateway(testConfig(upstream.url));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function consume(content: string, askedForUsage = false): Promise<{ texts: string[]; error: unknown }> {
    const stream = await gateway.client().chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content }],
      stream: true,
      ...(askedForUsage ? { stream_options: { include_usage: true } } : {}),
    });
    const texts: string[] = [];
    try {
      for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? '');
    } catch (error) {
      return { texts, error };
    }
    return { texts, error: undefined };
  }

  for (const how of ['reset', 'end'] as const) {
    for (const askedForUsage of [true, false]) {
      it(`gives the SDK an APIError, not a SyntaxError, when the upstream ${how === 'reset' ? 'resets' : 'ends'} mid-event (${askedForUsage ? 'pass-through' : 'strip'} mode)`, async () => {
        const { texts, error } = await consume(how, askedForUsage);
        expect(texts).toEqual(['Hello']);
        expect(error).not.toBeInstanceOf(SyntaxError);
        expect(error).toBeInstanceOf(OpenAI.APIError);
        expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'server_error' });
      });
    }
  }

  it('ends a stream whose last line is data:[DONE] (no space) without an error, with its usage counted', async () => {
    const { texts, error } = await consume('no-space-done');
    expect(error).toBeUndefined();
    expect(texts.join('')).toBe('Hello');
    const line = gateway.logs.lines.filter((l) => l.msg === 'POST /v1/chat/completions').at(-1);
    expect(line).toMatchObject({ status: 200, tokens: { prompt: 3, completion: 1, total: 4 } });
  });
});
