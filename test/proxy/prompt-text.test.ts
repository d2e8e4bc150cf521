// What of a request body is taken as its prompt's text, for the estimate of a stream its client left.
import { describe, expect, it } from 'vitest';
import { promptText } from '../../src/proxy/prompt-text.js';

const IMAGE = 'data:image/png;base64,' + 'A'.repeat(1000);

describe('promptText', () => {
  it('takes chat messages: text, text parts, names, tool calls and tool results; not images', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const prompt = promptText({
      model: 'gpt-4o',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', name: 'ada', content: [{ type: 'text', text: 'What is here?' }, { type: 'image_url', image_url: { url: IMAGE } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 C' },
        { role: 'assistant', function_call: { name: 'legacy_fn', arguments: '{}' } },
      ],
      tools,
    });
    expect(prompt.parts).toEqual(['Be brief.', 'What is here?', 'ada', 'get_weather', '{"city":"Paris"}', 'Sunny, 21 C', 'legacy_fn', '{}', tools]);
    expect(prompt.messages).toBe(5);
    expect(prompt.tokenIds).toBe(0);
    expect(JSON.stringify(prompt.parts)).not.toContain('AAAA');
  });

  it('takes Responses instructions and input: a string, or items of messages, calls, outputs and summaries', () => {
    expect(promptText({ instructions: 'Answer in French.', input: 'Hello' })).toEqual({ parts: ['Answer in French.', 'Hello'], messages: 1, tokenIds: 0 });
    const prompt = promptText({
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Look:' }, { type: 'input_image', image_url: IMAGE }] },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Thinking about it' }], encrypted_content: 'opaque' },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{"q":"x"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'found it' },
      ],
    });
    expect(prompt.parts).toEqual(['Look:', 'Thinking about it', 'lookup', '{"q":"x"}', 'found it']);
    expect(prompt.messages).toBe(4);
  });

  it('takes a legacy completion prompt: text, texts, or token ids counted one each', () => {
    expect(promptText({ prompt: 'Once upon' })).toEqual({ parts: ['Once upon'], messages: 0, tokenIds: 0 });
    expect(promptText({ prompt: ['a', 'b'] })).toEqual({ parts: ['a', 'b'], messages: 0, tokenIds: 0 });
    expect(promptText({ prompt: [1, 2, 3] })).toEqual({ parts: [], messages: 0, tokenIds: 3 });
    expect(promptText({ prompt: [[1, 2], [3]] })).toEqual({ parts: [], messages: 0, tokenIds: 3 });
  });

  it('ignores what is not text where text belongs', () => {
    expect(promptText({ messages: [null, 7, { role: 'user', content: { odd: true } }], input: 42, instructions: ['x'], tools: [] })).toEqual({
      parts: ['x'],
      messages: 1,
      tokenIds: 0,
    });
  });
});
