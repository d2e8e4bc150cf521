// A Messages request as a chat completions request: every block type, the sampling and tool settings, and a
// 400 naming each part chat completions cannot carry.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { chatRequestOf } from '../../src/translate/request.js';

const MODEL = 'gpt-5.3-codex';
const PNG = 'iVBORw0KGgo=';
const hello = [{ role: 'user', content: 'Hello' }];

/** The 400 a request is refused with. */
function refusal(body: Record<string, unknown>): GatewayError {
  try {
    chatRequestOf(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('the request was translated');
}

describe('a Messages request as a chat completions request', () => {
  it('translates a tool loop: system blocks, text and images, tool calls and their results, thinking dropped', () => {
    const chat = chatRequestOf({
      model: MODEL,
      max_tokens: 1024,
      system: [
        { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Answer in English.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me look.', signature: 'c2ln' },
            { type: 'redacted_thinking', data: 'cmVk' },
            { type: 'text', text: 'Looking.' },
            { type: 'tool_use', id: 'call_1', name: 'describe', input: { image: 1 } },
            { type: 'tool_use', id: 'call_2', name: 'fetch', input: { url: 'https://example.com/cat.jpg' } },
            { type: 'tool_use', id: 'call_3', name: 'crop', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: 'a red square' },
            {
              type: 'tool_result',
              tool_use_id: 'call_2',
              content: [
                { type: 'text', text: 'fetched' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } },
              ],
            },
            { type: 'tool_result', tool_use_id: 'call_3', content: [{ type: 'text', text: 'no such region' }], is_error: true },
            { type: 'text', text: 'And now?' },
          ],
        },
      ],
    });
    expect(chat).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are terse.\n\nAnswer in English.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Looking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'describe', arguments: '{"image":1}' } },
            { id: 'call_2', type: 'function', function: { name: 'fetch', arguments: '{"url":"https://example.com/cat.jpg"}' } },
            { id: 'call_3', type: 'function', function: { name: 'crop', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'a red square' },
        { role: 'tool', tool_call_id: 'call_2', content: 'fetched' },
        { role: 'tool', tool_call_id: 'call_3', content: 'Error: no such region' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } },
            { type: 'text', text: 'And now?' },
          ],
        },
      ],
      max_completion_tokens: 1024,
    });
  });

  it('keeps string contents as strings, a lone text block as a string, and a turn of tool results alone as tool messages', () => {
    const chat = chatRequestOf({
      model: MODEL,
      max_tokens: 10,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'now', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] },
        { role: 'assistant', content: 'Done.' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'only thoughts', signature: 's' }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'now', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: '' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });

  it('puts system messages of the conversation at their place, and leaves deferred tools out (as Claude Code sends them)', () => {
    const tool = (name: string, more: Record<string, unknown> = {}) => ({ name, input_schema: { type: 'object', properties: {} }, ...more });
    const chat = chatRequestOf({
      model: MODEL,
      max_tokens: 10,
      system: 'Be brief.',
      tools: [tool('Read'), tool('DeferredToolPlaceholder', { defer_loading: true }), tool('Write', { defer_loading: false })],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'system', content: [{ type: 'text', text: 'Tools may change.' }, { type: 'text', text: 'Stay terse.' }] },
        { role: 'system', content: 'Really terse.' },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'system', content: 'Tools may change.\n\nStay terse.' },
      { role: 'system', content: 'Really terse.' },
    ]);
    expect((chat.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['Read', 'Write']);
    // Only deferred tools: none to show, and so no tool_choice either (chat completions refuses one without tools).
    const none = chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, tools: [tool('Later', { defer_loading: true })], tool_choice: { type: 'any' } });
    expect(none.tools).toBeUndefined();
    expect(none.tool_choice).toBeUndefined();
  });

  it('translates tools, tool_choice, the sampling settings, the stream and the end user', () => {
    const chat = chatRequestOf({
      model: MODEL,
      max_tokens: 2000,
      stream: true,
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user_abc_account_def_session_ghi' },
      service_tier: 'standard_only',
      tools: [
        { name: 'lookup', description: 'Looks a word up', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] }, cache_control: { type: 'ephemeral' } },
        { type: 'custom', name: 'now', input_schema: { type: 'object' }, strict: true },
      ],
      tool_choice: { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
      messages: hello,
    });
    expect(chat).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello' }],
      max_completion_tokens: 2000,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      safety_identifier: createHash('sha256').update('user_abc_account_def_session_ghi').digest('hex'),
      service_tier: 'default',
      tools: [
        { type: 'function', function: { name: 'lookup', description: 'Looks a word up', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } },
        { type: 'function', function: { name: 'now', parameters: { type: 'object' }, strict: true } },
      ],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
    });
  });

  it.each([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
  ])('tool_choice %j is %j', (choice, expected) => {
    const chat = chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, tools: [{ name: 'now', input_schema: { type: 'object' } }], tool_choice: choice });
    expect(chat.tool_choice).toBe(expected);
    expect(chat.parallel_tool_calls).toBeUndefined();
  });

  it('leaves tool_choice out when there are no tools (chat completions refuses it then)', () => {
    expect(chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, tool_choice: { type: 'auto' } })).not.toHaveProperty('tool_choice');
  });

  it.each([
    [1024, 'low'],
    [8_191, 'low'],
    [8_192, 'medium'],
    [24_575, 'medium'],
    [24_576, 'high'],
    [31_999, 'high'],
  ])('a thinking budget of %i tokens is a %s reasoning effort', (budget, effort) => {
    expect(chatRequestOf({ model: MODEL, max_tokens: 32_000, messages: hello, thinking: { type: 'enabled', budget_tokens: budget } }).reasoning_effort).toBe(effort);
  });

  it('leaves the effort to the model when thinking is disabled or adaptive; output_config.effort wins over a budget', () => {
    for (const thinking of [{ type: 'disabled' }, { type: 'adaptive' }]) {
      expect(chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, thinking })).not.toHaveProperty('reasoning_effort');
    }
    const chat = chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, thinking: { type: 'enabled', budget_tokens: 1024 }, output_config: { effort: 'max' } });
    expect(chat.reasoning_effort).toBe('xhigh');
  });

  it('translates a JSON schema output format to response_format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    const chat = chatRequestOf({ model: MODEL, max_tokens: 1, messages: hello, output_config: { format: { type: 'json_schema', schema } } });
    expect(chat.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
  });

  it('leaves out the hints that change no answer: cache_control, speed, diagnostics, and clearing thinking', () => {
    const chat = chatRequestOf({
      model: MODEL,
      max_tokens: 1,
      messages: hello,
      cache_control: { type: 'ephemeral' },
      speed: 'standard',
      diagnostics: { previous_message_id: 'msg_1' },
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    });
    expect(chat).toEqual({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_completion_tokens: 1 });
  });
});

describe('what cannot be translated is refused with a 400 naming it', () => {
  const user = (content: unknown[]): Record<string, unknown> => ({ model: MODEL, max_tokens: 1, messages: [{ role: 'user', content }] });
  it.each([
    ['top_k', { model: MODEL, max_tokens: 1, messages: hello, top_k: 5 }, 'top_k'],
    ['container', { model: MODEL, max_tokens: 1, messages: hello, container: 'cntr_1' }, 'container'],
    ['mcp_servers', { model: MODEL, max_tokens: 1, messages: hello, mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] }, 'mcp_servers'],
    ['a field unknown to the translation', { model: MODEL, max_tokens: 1, messages: hello, inference_geo: 'us' }, 'inference_geo'],
    ['a document block', user([{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }]), 'messages[0].content[0].type'],
    ['a search_result block', user([{ type: 'search_result', source: 's', title: 't', content: [] }]), 'messages[0].content[0].type'],
    ['a server tool result', user([{ type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }]), 'messages[0].content[0].type'],
    ['an image from the Files API', user([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }]), 'messages[0].content[0].source.type'],
    ['a document in a tool result', user([{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document', source: {} }] }]), 'messages[0].content[0].content[0].type'],
    ['citations', { model: MODEL, max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'text', text: 'x', citations: [{ type: 'char_location' }] }] }] }, 'messages[0].content[0].citations'],
    ['a server tool', { model: MODEL, max_tokens: 1, messages: hello, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
    ['a block other than text in a system message', { model: MODEL, max_tokens: 1, messages: [...hello, { role: 'system', content: [{ type: 'image', source: {} }] }] }, 'messages[1].content[0].type'],
    ['context management that clears tool uses', { model: MODEL, max_tokens: 1, messages: hello, context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] } }, 'context_management.edits[0]'],
    ['an output format of another kind', { model: MODEL, max_tokens: 1, messages: hello, output_config: { format: { type: 'grammar' } } }, 'output_config.format'],
  ])('%s', (_name, body, param) => {
    const error = refusal(body);
    expect(error.statusCode).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe(param);
    expect(error.message.startsWith(`Invalid value for '${param}': `)).toBe(true);
    expect(error.message).toContain('cannot be translated to chat completions');
  });
});
