import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { messageId, messagesUsage, stopReasonOf, toolUseId, type StopReason } from './answer.js';
import { isObject, type Json } from './untranslatable.js';

/** A block being streamed: its index in the message, and what it holds. */
interface OpenBlock {
  index: number;
  kind: 'thinking' | 'text' | 'tool_use';
}

const EVENT_END = /\r\n\r\n|\n\n|\r\r/;

/** One Messages SSE event. */
const event = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * A chat completion stream (the gateway's SSE tap hands it over in whole events) as a Messages stream, each
 * event written as soon as the chunk it comes from arrives: `message_start` on the first chunk, then each
 * run of reasoning, text or one tool call's arguments as a content block (`content_block_start`, its deltas,
 * `content_block_stop`), then, once both the finish reason and the usage (the chunk that follows the finish
 * one) are known, `message_delta` with the stop reason and the whole usage, and `message_stop`. An error
 * event, the upstream's or the one the tap ends a cut stream with, becomes Anthropic's `error` event.
 */
export class ChatToMessagesStream extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private id: string | undefined;
  private nextIndex = 0;
  private open: OpenBlock | undefined;
  /** The block of each tool call, by the call's index in the chunks. */
  private readonly toolBlocks = new Map<number, number>();
  private stop: StopReason | undefined;
  private usage: Json | undefined;
  private ended = false;

  constructor(
    private readonly model: string,
    private readonly stopSequences: readonly string[],
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending += this.decoder.write(chunk);
    let out = '';
    for (let end = EVENT_END.exec(this.pending); end !== null; end = EVENT_END.exec(this.pending)) {
      const raw = this.pending.slice(0, end.index);
      this.pending = this.pending.slice(end.index + end[0].length);
      if (!this.ended) out += this.translate(raw);
    }
    callback(null, out === '' ? undefined : out);
  }

  override _flush(callback: TransformCallback): void {
    // The tap ends every stream with `[DONE]` or an error event; anything else is a stream that stopped short.
    callback(null, this.ended || this.id === undefined ? undefined : this.error('The upstream ended the stream before it was complete.'));
  }

  /** The Messages events for one chat SSE event. */
  private translate(raw: string): string {
    let type = 'message';
    const data: string[] = [];
    for (const line of raw.split(/\r\n|\r|\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      else if (line.startsWith('event:')) type = line.slice(6).trim();
    }
    if (data.length === 0) return '';
    const text = data.join('\n');
    if (text.trim() === '[DONE]') return this.start('') + this.finish();
    let chunk: unknown;
    try {
      chunk = JSON.parse(text);
    } catch {
      return this.error('The upstream sent an event that is not JSON.');
    }
    if (!isObject(chunk)) return '';
    if (type === 'error' || isObject(chunk.error)) {
      const message = isObject(chunk.error) && typeof chunk.error.message === 'string' ? chunk.error.message : 'The upstream stream failed.';
      return this.error(message);
    }
    let out = this.start(chunk.id);
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
    if (choice !== undefined) out += this.choiceEvents(choice);
    if (isObject(chunk.usage)) this.usage = messagesUsage(chunk.usage);
    if (this.stop !== undefined && this.usage !== undefined) out += this.finish();
    return out;
  }

  private choiceEvents(choice: Json): string {
    let out = '';
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
      out += this.into('thinking', { type: 'thinking', thinking: '', signature: '' }) + this.delta({ type: 'thinking_delta', thinking: delta.reasoning_content });
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      out += this.into('text', { type: 'text', text: '' }) + this.delta({ type: 'text_delta', text: delta.content });
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) if (isObject(call)) out += this.toolCallEvents(call);
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      out += this.close();
      this.stop = stopReasonOf(choice.finish_reason, choice.stop_reason, this.stopSequences);
    }
    return out;
  }

  /** A call's first chunk (it has the id and name) opens its block; its argument pieces are its deltas. */
  private toolCallEvents(call: Json): string {
    const callIndex = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    let index = this.toolBlocks.get(callIndex);
    if (index === undefined) {
      out += this.close();
      index = this.nextIndex++;
      this.toolBlocks.set(callIndex, index);
      this.open = { index, kind: 'tool_use' };
      const block = { type: 'tool_use', id: toolUseId(call.id, callIndex, this.id!), name: typeof fn.name === 'string' ? fn.name : '', input: {} };
      out += event('content_block_start', { index, content_block: block });
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: fn.arguments } });
    }
    return out;
  }

  /** `message_start`, once, with the id of the first chunk. */
  private start(chatId: unknown): string {
    if (this.id !== undefined) return '';
    this.id = messageId(chatId);
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: messagesUsage(undefined) };
    return event('message_start', { message });
  }

  /** Moves into a block of `kind`: the open one when it is of that kind, else a new one after closing it. */
  private into(kind: 'thinking' | 'text', block: Json): string {
    if (this.open?.kind === kind) return '';
    const out = this.close();
    this.open = { index: this.nextIndex++, kind };
    return out + event('content_block_start', { index: this.open.index, content_block: block });
  }

  private delta(delta: Json): string {
    return event('content_block_delta', { index: this.open!.index, delta });
  }

  private close(): string {
    if (this.open === undefined) return '';
    const index = this.open.index;
    this.open = undefined;
    return event('content_block_stop', { index });
  }

  /** `message_delta` with the stop reason and the whole usage (the SDKs take its input counts too), then `message_stop`. */
  private finish(): string {
    if (this.ended) return '';
    this.ended = true;
    const stop = this.stop ?? stopReasonOf('stop', undefined, this.stopSequences);
    return this.close() + event('message_delta', { delta: stop, usage: this.usage ?? messagesUsage(undefined) }) + event('message_stop', {});
  }

  private error(message: string): string {
    this.ended = true;
    return event('error', { error: { type: 'api_error', message } });
  }
}
