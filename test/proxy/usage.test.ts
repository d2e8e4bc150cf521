import { describe, expect, it } from 'vitest';
import { normaliseUsage, usageFromJsonBody } from '../../src/proxy/usage.js';

describe('usage with priced kinds of input tokens', () => {
  it("reads an image answer's input image tokens and a transcription's input audio tokens", () => {
    expect(normaliseUsage({ input_tokens: 1_363, input_tokens_details: { text_tokens: 40, image_tokens: 1_323 }, output_tokens: 4_160, total_tokens: 5_523 })).toEqual({
      prompt: 1_363,
      completion: 4_160,
      cached: 0,
      reasoning: 0,
      total: 5_523,
      imageInput: 1_323,
    });
    const body = Buffer.from('{"text":"hi","usage":{"type":"tokens","input_tokens":1520,"input_token_details":{"text_tokens":20,"audio_tokens":1500},"output_tokens":310,"total_tokens":1830}}');
    expect(usageFromJsonBody(body)).toMatchObject({ prompt: 1_520, completion: 310, audioInput: 1_500 });
    expect(normaliseUsage({ prompt_tokens: 900, prompt_tokens_details: { audio_tokens: 800 }, completion_tokens: 10 })).toMatchObject({ audioInput: 800 });
  });

  it('leaves out counts an upstream got wrong: negative, non-numbers, infinite', () => {
    for (const bad of [-5, '1323', null, Number.POSITIVE_INFINITY, { n: 1 }]) {
      const usage = normaliseUsage({ input_tokens: 10, input_tokens_details: { image_tokens: bad }, input_token_details: { audio_tokens: bad }, output_tokens: 1 });
      expect(usage, String(bad)).toEqual({ prompt: 10, completion: 1, cached: 0, reasoning: 0, total: 11 });
    }
  });
});
