// A chat completion as a Messages answer: text, refusals, reasoning, tool calls, stop reasons and usage.
import { describe, expect, it } from 'vitest';
import { messageOf } from '../../src/translate/response.js';
import { anthropicErrorBody } from '../../src/translate/errors.js';

const MODEL = 'gpt-5.3-codex';
const usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 10 } };
const completion = (message: Record<string, unknown>, finish: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'chatcmpl-42',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-5.3-codex-2026-01-01',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, ...extra }],
  usage,
});

describe('a chat completion as a Messages answer', () => {
  it('a text answer: one text block, end_turn, the cached prompt apart as cache reads', () => {
    expect(messageOf(completion({ content: 'Hello!', refusal: null }, 'stop'), MODEL, [])).toEqual({
      id: 'msg_chatcmpl-42',
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 100, output_tokens: 30 },
    });
  });

  it('tool calls: tool_use blocks after the text, ids kept, arguments parsed', () => {
    const message = messageOf(
      completion(
        {
          content: 'Checking.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat","n":2}' } },
            { id: 'call_b', type: 'function', function: { name: 'now', arguments: '' } },
            { id: 'call_c', type: 'function', function: { name: 'broken', arguments: '{"q":' } },
          ],
        },
        'tool_calls',
      ),
      MODEL,
      [],
    );
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_a', name: 'lookup', input: { q: 'cat', n: 2 } },
      { type: 'tool_use', id: 'call_b', name: 'now', input: {} },
      { type: 'tool_use', id: 'call_c', name: 'broken', input: { arguments: '{"q":' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('reasoning text from upstreams that return it: a thinking block first', () => {
    const message = messageOf(completion({ reasoning_content: 'Hmm.', content: 'Yes.' }, 'stop'), MODEL, []);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Hmm.', signature: '' },
      { type: 'text', text: 'Yes.' },
    ]);
  });

  it('a refusal: its text, and stop_reason refusal for content_filter', () => {
    const message = messageOf(completion({ content: null, refusal: 'I cannot help with that.' }, 'content_filter'), MODEL, []);
    expect(message.content).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it.each([
    ['length', undefined, 'max_tokens', null],
    ['stop', undefined, 'end_turn', null],
    ['stop', 'END', 'stop_sequence', 'END'],
    ['stop', 'OTHER', 'end_turn', null],
    ['function_call', undefined, 'tool_use', null],
  ])('finish_reason %s (matched stop %s) is %s', (finish, matched, reason, sequence) => {
    const message = messageOf(completion({ content: 'x' }, finish, matched === undefined ? {} : { stop_reason: matched }), MODEL, ['END']);
    expect([message.stop_reason, message.stop_sequence]).toEqual([reason, sequence]);
  });

  it('an empty answer without usage: no blocks, zero usage', () => {
    const message = messageOf({ id: 'chatcmpl-0', choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'length' }] }, MODEL, []);
    expect(message).toMatchObject({ content: [], stop_reason: 'max_tokens', usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 } });
  });
});

describe('a chat upstream error in Anthropic envelope', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'api_error'],
  ])('status %i is %s, with the upstream message', (status, type) => {
    const body = JSON.stringify({ error: { message: "Unsupported parameter: 'stop'", type: 'invalid_request_error', param: 'stop', code: 'unsupported_parameter' } });
    expect(JSON.parse(anthropicErrorBody(status, body))).toEqual({ type: 'error', error: { type, message: "Unsupported parameter: 'stop'" } });
  });

  it('an error object without a message says the status', () => {
    expect(JSON.parse(anthropicErrorBody(502, '{"detail":"bad"}'))).toEqual({ type: 'error', error: { type: 'api_error', message: 'The upstream returned 502.' } });
  });
});
