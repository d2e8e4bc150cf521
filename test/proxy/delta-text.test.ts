// The generated text a stream delivered, as the tap keeps it for a hang-up estimate: only text and tool-call
// deltas, decoded from their JSON strings when asked for.
import { describe, expect, it } from 'vitest';
import { DeltaText, MAX_KEPT_BYTES } from '../../src/proxy/delta-text.js';
import { CHAT_STREAM, RESPONSES_STREAM } from '../../src/proxy/stream-formats.js';

function take(delta: DeltaText, events: string): void {
  const bytes = Buffer.from(events);
  delta.add(bytes, bytes.toString('latin1'));
}

const chat = (delta: object, finish = 'null'): string =>
  `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish}}],"usage":null}\n\n`;

describe('DeltaText', () => {
  it('keeps chat content, reasoning and tool-call names and arguments, decoded', () => {
    const delta = new DeltaText(CHAT_STREAM.deltaText!);
    take(delta, chat({ role: 'assistant', content: '' }) + chat({ content: 'Héllo "wörld"\n' }) + chat({ content: '你好 🎉' }));
    take(delta, chat({ reasoning_content: ' think' }));
    take(delta, chat({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }));
    take(delta, chat({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) + chat({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
    take(delta, chat({}, '"tool_calls"'));
    expect(delta.text()).toEqual({ text: 'Héllo "wörld"\n你好 🎉 thinkget_weather{"city":"Paris"}', keptShare: 1 });
  });

  it('reads keys spaced out as some upstreams write them, and nothing from a null content', () => {
    const delta = new DeltaText(CHAT_STREAM.deltaText!);
    take(delta, 'data: {"choices": [{"delta": {"content": null}}]}\n\ndata: {"choices": [{"delta": {"content" : "a b"}}]}\n\n');
    expect(delta.text().text).toBe('a b');
  });

  it('keeps the delta of Responses events, not the whole text repeated by their done events', () => {
    const delta = new DeltaText(RESPONSES_STREAM.deltaText!);
    const event = (type: string, fields: object): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: 1, ...fields })}\n\n`;
    take(delta, event('response.created', { response: { id: 'r', output: [] } }));
    take(delta, event('response.output_text.delta', { item_id: 'm', delta: 'Hel', logprobs: [] }) + event('response.output_text.delta', { item_id: 'm', delta: 'lo' }));
    take(delta, event('response.output_text.done', { item_id: 'm', text: 'Hello' }));
    take(delta, event('response.function_call_arguments.delta', { item_id: 'f', delta: '{"q":1}' }));
    expect(delta.text().text).toBe('Hello{"q":1}');
  });

  it('keeps an upstream text that is not valid JSON as its bytes', () => {
    const delta = new DeltaText(CHAT_STREAM.deltaText!);
    take(delta, 'data: {"choices":[{"delta":{"content":"bad \\x escape"}}]}\n\n');
    expect(delta.text().text).toBe('bad \\x escape');
  });

  it('keeps at most MAX_KEPT_BYTES and says which share of the text that is', () => {
    const delta = new DeltaText(CHAT_STREAM.deltaText!);
    const piece = 'x'.repeat(1024);
    const events = chat({ content: piece }).repeat(64);
    for (let i = 0; i < 8; i++) take(delta, events); // 512 KiB of text
    const { text, keptShare } = delta.text();
    expect(text.length).toBe(MAX_KEPT_BYTES);
    expect(keptShare).toBe(MAX_KEPT_BYTES / (512 * 1024));
  });
});
