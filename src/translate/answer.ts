import { isObject, type Json } from './untranslatable.js';

// What a chat completion's answer and a Messages answer share, whole or streamed: ids, stop reasons, usage.

/** A Messages id for a chat completion: its own id (`msg_chatcmpl-...`), so the two can be matched in logs. */
export function messageId(chatId: unknown): string {
  return `msg_${typeof chatId === 'string' && chatId !== '' ? chatId : Date.now().toString(36)}`;
}

/** A tool call without an id (some compatible upstreams send none) gets one; tool results refer to it. */
export function toolUseId(callId: unknown, index: number, messageId: string): string {
  return typeof callId === 'string' && callId !== '' ? callId : `toolu_${messageId.slice(4)}_${index}`;
}

export interface StopReason {
  stop_reason: string;
  stop_sequence: string | null;
}

/**
 * `finish_reason` as a Messages stop reason. Chat completions does not say which stop sequence ended the
 * answer (`stop` covers both): it is `stop_sequence` only when the upstream names the sequence in the choice's
 * `stop_reason` (as vLLM does) and it is one the request asked for.
 */
export function stopReasonOf(finish: unknown, matched: unknown, stopSequences: readonly string[]): StopReason {
  if (finish === 'stop' && typeof matched === 'string' && stopSequences.includes(matched)) return { stop_reason: 'stop_sequence', stop_sequence: matched };
  const reason = finish === 'length' ? 'max_tokens' : finish === 'tool_calls' || finish === 'function_call' ? 'tool_use' : finish === 'content_filter' ? 'refusal' : 'end_turn';
  return { stop_reason: reason, stop_sequence: null };
}

/** A chat usage object as a Messages one: the cached part of the prompt apart, as cache reads. */
export function messagesUsage(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const prompt = count(u.prompt_tokens);
  const cached = Math.min(count(isObject(u.prompt_tokens_details) ? u.prompt_tokens_details.cached_tokens : undefined), prompt);
  return { input_tokens: prompt - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: count(u.completion_tokens) };
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/** Tool call arguments as a tool_use block's input: an object, whatever the model wrote. */
export function inputOf(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const input: unknown = JSON.parse(args);
    return isObject(input) ? input : { value: input };
  } catch {
    // Arguments that are not JSON are kept whole, so the tool's own check tells the model what went wrong.
    return { arguments: args };
  }
}
