// A chat completion stream as a Messages stream: recorded chunk sequences in, the exact Anthropic events
// out, each written as soon as the chunk it comes from arrives.
import { describe, expect, it } from 'vitest';
import { ChatToMessagesStream } from '../../src/translate/stream.js';

const MODEL = 'gpt-5.3-codex';
const USAGE = { prompt_tokens: 50, completion_tokens: 12, total_tokens: 62, prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 0 } };
const MESSAGES_USAGE = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 40, output_tokens: 12 };
const ZERO_USAGE = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 };

/** A chat chunk's SSE event, as OpenAI sends them with `include_usage` on. */
const chunk = (delta: Record<string, unknown> | undefined, finish: string | null = null, usage: unknown = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-7', object: 'chat.completion.chunk', created: 1, model: 'gpt-5.3-codex', choices: delta === undefined ? [] : [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
const DONE = 'data: [DONE]\n\n';

interface Event {
  event: string;
  data: Record<string, unknown>;
}

function parse(text: string): Event[] {
  return text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      const [eventLine, dataLine] = e.split('\n');
      expect(eventLine!.startsWith('event: ') && dataLine!.startsWith('data: ')).toBe(true);
      const data = JSON.parse(dataLine!.slice(6)) as Record<string, unknown>;
      expect(data.type).toBe(eventLine!.slice(7));
      return { event: eventLine!.slice(7), data };
    });
}

/** Feeds each chunk in turn; what came out after each one, as events. */
function run(chunks: readonly string[], stopSequences: readonly string[] = []): Event[][] {
  const stream = new ChatToMessagesStream(MODEL, stopSequences);
  const out: Event[][] = [];
  for (const c of chunks) {
    stream.write(Buffer.from(c));
    out.push(parse((stream.read() as Buffer | null)?.toString() ?? ''));
  }
  stream.end();
  out.push(parse((stream.read() as Buffer | null)?.toString() ?? ''));
  return out;
}

const messageStart = {
  event: 'message_start',
  data: {
    type: 'message_start',
    message: { id: 'msg_chatcmpl-7', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: ZERO_USAGE },
  },
};
const ev = (event: string, data: Record<string, unknown> = {}): Event => ({ event, data: { type: event, ...data } });
const textDelta = (index: number, text: string): Event => ev('content_block_delta', { index, delta: { type: 'text_delta', text } });
const jsonDelta = (index: number, partial_json: string): Event => ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
const finish = (stop_reason: string, usage = MESSAGES_USAGE, stop_sequence: string | null = null): Event[] => [
  ev('message_delta', { delta: { stop_reason, stop_sequence }, usage }),
  ev('message_stop'),
];

describe('a chat completion stream as a Messages stream', () => {
  it('text: message_start on the first chunk, a text block, then message_delta with the usage of the last chunk', () => {
    const out = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo!' }),
      chunk({}, 'stop'),
      chunk(undefined, null, USAGE),
      DONE,
    ]);
    expect(out).toEqual([
      [messageStart],
      [ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), textDelta(0, 'Hel')],
      [textDelta(0, 'lo!')],
      [ev('content_block_stop', { index: 0 })],
      finish('end_turn'),
      [],
      [],
    ]);
  });

  it('tool calls: text, then each call a tool_use block whose arguments arrive split across chunks', () => {
    const out = run([
      chunk({ role: 'assistant', content: null }),
      chunk({ content: 'Let me check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"cat"}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'now', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      chunk(undefined, null, USAGE),
      DONE,
    ]);
    expect(out.flat()).toEqual([
      messageStart,
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      textDelta(0, 'Let me check.'),
      ev('content_block_stop', { index: 0 }),
      ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'lookup', input: {} } }),
      jsonDelta(1, '{"q":'),
      jsonDelta(1, '"cat"}'),
      ev('content_block_stop', { index: 1 }),
      ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'call_b', name: 'now', input: {} } }),
      jsonDelta(2, '{}'),
      ev('content_block_stop', { index: 2 }),
      ...finish('tool_use'),
    ]);
    // Each argument piece went out with the chunk that brought it.
    expect(out[3]).toEqual([jsonDelta(1, '{"q":')]);
    expect(out[4]).toEqual([jsonDelta(1, '"cat"}')]);
  });

  it('reasoning text (from upstreams that send it) as a thinking block before the text', () => {
    const events = run([chunk({ reasoning_content: 'Hmm' }), chunk({ content: 'Yes' }), chunk({}, 'stop', USAGE), DONE]).flat();
    expect(events.map((e) => [e.event, e.data.index ?? null])).toEqual([
      ['message_start', null],
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['message_delta', null],
      ['message_stop', null],
    ]);
    expect(events[1]!.data.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect(events[2]!.data.delta).toEqual({ type: 'thinking_delta', thinking: 'Hmm' });
  });

  it('usage in the finish chunk itself ends the message at once', () => {
    const out = run([chunk({ content: 'Hi' }), chunk({}, 'length', USAGE), DONE]);
    expect(out[1]).toEqual([ev('content_block_stop', { index: 0 }), ...finish('max_tokens')]);
    expect(out[2]).toEqual([]);
  });

  it('a stream without usage ends at [DONE], with zero usage', () => {
    const out = run([chunk({ content: 'Hi' }), chunk({}, 'stop'), DONE]);
    expect(out[2]).toEqual(finish('end_turn', ZERO_USAGE));
  });

  it('a stop sequence the upstream names (vLLM) is stop_sequence', () => {
    const out = run([chunk({ content: 'Hi' }), `data: ${JSON.stringify({ id: 'chatcmpl-7', choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: 'END' }], usage: USAGE })}\n\n`], ['END']);
    expect(out[1]).toEqual([ev('content_block_stop', { index: 0 }), ...finish('stop_sequence', MESSAGES_USAGE, 'END')]);
  });

  it('events split across writes, and several in one write, come out whole', () => {
    const whole = [chunk({ content: 'A' }), chunk({ content: 'B' }), chunk({}, 'stop', USAGE), DONE].join('');
    const stream = new ChatToMessagesStream(MODEL, []);
    stream.write(Buffer.from(whole.slice(0, 17)));
    expect(stream.read()).toBeNull();
    stream.end(Buffer.from(whole.slice(17)));
    const events = parse((stream.read() as Buffer).toString());
    expect(events.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text)).toEqual(['A', 'B']);
    expect(events.at(-1)!.event).toBe('message_stop');
  });

  it('the error event that ends a cut stream becomes an Anthropic error event, and nothing follows it', () => {
    const cut = `event: error\ndata: ${JSON.stringify({ error: { message: 'The upstream stream failed.', type: 'server_error', param: null, code: 'upstream_stream_failed' } })}\n\n`;
    const out = run([chunk({ content: 'Hi' }), cut, chunk({ content: 'more' })]);
    expect(out[1]).toEqual([ev('error', { error: { type: 'api_error', message: 'The upstream stream failed.' } })]);
    expect(out[2]).toEqual([]);
    expect(out[3]).toEqual([]);
  });

  it("an upstream's in-stream error object becomes an Anthropic error event", () => {
    const out = run([`data: ${JSON.stringify({ error: { message: 'Rate limit reached', type: 'rate_limit_error' } })}\n\n`]);
    expect(out[0]).toEqual([ev('error', { error: { type: 'api_error', message: 'Rate limit reached' } })]);
  });

  it('a stream that stops short of its end gets an error event', () => {
    const out = run([chunk({ content: 'Hi' })]);
    expect(out[1]).toEqual([ev('error', { error: { type: 'api_error', message: 'The upstream ended the stream before it was complete.' } })]);
  });
});
