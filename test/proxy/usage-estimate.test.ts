// The estimate charged for a stream whose client left before the upstream's usage came: the prompt counted
// with the model's encoding, the completion from the deltas delivered.
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { DeltaText } from '../../src/proxy/delta-text.js';
import { promptText } from '../../src/proxy/prompt-text.js';
import { CHAT_STREAM } from '../../src/proxy/stream-formats.js';
import { MAX_TOKENIZED_CHARS } from '../../src/proxy/bounded-count.js';
import { estimateUsage, estimatorFor, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE } from '../../src/proxy/usage-estimate.js';
import { newRequestContext } from '../../src/request-context.js';

function delivered(...contents: string[]): DeltaText {
  const delta = new DeltaText(CHAT_STREAM.deltaText!);
  const events = Buffer.from(contents.map((content) => `data: {"choices":[{"index":0,"delta":${JSON.stringify({ content })}}]}\n\n`).join(''));
  delta.add(events, events.toString('latin1'));
  return delta;
}

const SYSTEM = 'You are a careful assistant. Prefer short answers.';
const QUESTION = 'Wie spät ist es in Tokio, und wie wird das Wetter morgen?';
const ANSWER = ['In Tokio ist es ', 'jetzt 14:05 Uhr; ', 'morgen wird es sonnig.'];

describe('estimateUsage', () => {
  const prompt = promptText({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }] });
  const framing = 2 * TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS;

  it("counts the prompt's text and messages and the delivered text with the model's encoding", async () => {
    const usage = await estimateUsage('gpt-4o', prompt, delivered(...ANSWER));
    const promptTokens = o200k(SYSTEM) + o200k(QUESTION) + framing;
    const completion = o200k(ANSWER.join(''));
    expect(usage).toEqual({ prompt: promptTokens, completion, cached: 0, reasoning: 0, total: promptTokens + completion });
  });

  it('counts an older model with cl100k_base', async () => {
    const usage = await estimateUsage('gpt-4-turbo', prompt, delivered(...ANSWER));
    expect(usage.prompt).toBe(cl100k(SYSTEM) + cl100k(QUESTION) + framing);
    expect(usage.completion).toBe(cl100k(ANSWER.join('')));
  });

  it('counts tool definitions as their JSON, and token-id prompts one a token', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Finds a thing', parameters: { type: 'object' } } }];
    const usage = await estimateUsage('gpt-4o', promptText({ input: 'hi', tools }), delivered());
    expect(usage.prompt).toBe(o200k('hi') + o200k(JSON.stringify(tools)) + TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS);
    expect(usage.completion).toBe(0);
    expect((await estimateUsage('davinci-002', promptText({ prompt: [[1, 2, 3, 4]] }), delivered('x'))).prompt).toBe(4);
  });

  it('tokenizes at most MAX_TOKENIZED_CHARS of a huge prompt and counts the rest at the same rate', async () => {
    const unit = 'The quick brown fox jumps over the lazy dog. ';
    const huge = unit.repeat(Math.ceil((4 * MAX_TOKENIZED_CHARS) / unit.length));
    const usage = await estimateUsage('gpt-4o', promptText({ input: huge }), delivered());
    const exact = o200k(huge) + TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS;
    expect(Math.abs(usage.prompt - exact) / exact).toBeLessThan(0.01);
  });
});

describe('estimatorFor', () => {
  it('sets the estimate and usageEstimated on a request that has no usage', async () => {
    const context = newRequestContext(0);
    context.model = 'gpt-4o';
    await estimatorFor(context, promptText({ input: 'Hello there' }), delivered('General Kenobi'))();
    expect(context.usageEstimated).toBe(true);
    expect(context.usage).toMatchObject({ prompt: o200k('Hello there') + 6, completion: o200k('General Kenobi') });
  });

  it("never replaces the upstream's usage, even one that came while the tokenizer loaded", async () => {
    const real = { prompt: 1, completion: 2, cached: 0, reasoning: 0, total: 3 };
    const context = newRequestContext(0);
    context.usage = real;
    await estimatorFor(context, promptText({ input: 'Hello' }), delivered('Hi'))();
    expect(context.usage).toBe(real);
    expect(context.usageEstimated).toBe(false);

    const late = newRequestContext(0);
    const estimating = estimatorFor(late, promptText({ input: 'Hello' }), delivered('Hi'))();
    late.usage = real;
    await estimating;
    expect(late.usage).toBe(real);
    expect(late.usageEstimated).toBe(false);
  });
});
