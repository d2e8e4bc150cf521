import { chatCompletions } from '../endpoints/chat-completions.js';
import { upstreamResponseFailed } from '../errors.js';
import { promptText } from '../proxy/prompt-text.js';
import type { RelayTarget } from '../proxy/relay.js';
import { promptTokens } from '../proxy/usage-estimate.js';
import { anthropicErrorBody } from './errors.js';
import { chatRequestOf } from './request.js';
import { messageOf } from './response.js';
import { ChatToMessagesStream } from './stream.js';
import { isObject, type Json } from './untranslatable.js';

/** What goes upstream for a Messages request served by a chat model, and how its answer comes back. */
export interface ChatCall extends RelayTarget {
  path: string;
  payload: string;
}

/**
 * A Messages request (schema-checked) for the chat model `model` as a chat completions call: the translated
 * body, and the translation of its answer, whole, streamed or an error. Throws a 400 for what cannot be translated.
 */
export function chatCall(body: Json, model: string): ChatCall {
  const chat = chatRequestOf(body);
  const stopSequences = Array.isArray(body.stop_sequences) ? body.stop_sequences.filter((s): s is string => typeof s === 'string') : [];
  return {
    path: chatCompletions.upstreamPath,
    payload: JSON.stringify(chat),
    // The usage-only chunk is the translation's: it carries `message_delta`'s usage.
    stripUsageChunk: false,
    stream: chatCompletions.stream,
    // Kept for a stream whose client may leave before its usage comes (see src/proxy/usage-estimate.ts).
    prompt: chat.stream === true ? promptText(chat) : undefined,
    translation: {
      body: (answer) => JSON.stringify(messageOf(chatCompletionOf(answer), model, stopSequences)),
      stream: () => new ChatToMessagesStream(model, stopSequences),
      error: anthropicErrorBody,
    },
  };
}

/** `count_tokens` for a chat model: the translated request counted with the model's tokenizer, here (an estimate). */
export async function countChatTokens(body: Json, model: string): Promise<{ input_tokens: number }> {
  return { input_tokens: await promptTokens(model, promptText(chatRequestOf(body))) };
}

function chatCompletionOf(answer: Buffer): Json {
  try {
    const parsed: unknown = JSON.parse(answer.toString('utf8'));
    if (isObject(parsed)) return parsed;
  } catch {
    // Refused below.
  }
  throw upstreamResponseFailed('The upstream answer is not a chat completion.');
}
