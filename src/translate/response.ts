import { inputOf, messageId, messagesUsage, stopReasonOf, toolUseId } from './answer.js';
import { isObject, type Json } from './untranslatable.js';

/**
 * A chat completion as a Messages answer: reasoning text (from upstreams that return it) as a thinking block,
 * the text (or refusal) as a text block, each tool call as a tool_use block, in that order.
 */
export function messageOf(chat: Json, model: string, stopSequences: readonly string[]): Json {
  const choice = Array.isArray(chat.choices) && isObject(chat.choices[0]) ? chat.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const id = messageId(chat.id);
  const content: Json[] = [];
  const reasoning = message.reasoning_content;
  if (typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  const text = typeof message.content === 'string' && message.content !== '' ? message.content : message.refusal;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  calls.forEach((call, i) => {
    const c = isObject(call) ? call : {};
    const fn = isObject(c.function) ? c.function : {};
    content.push({ type: 'tool_use', id: toolUseId(c.id, i, id), name: typeof fn.name === 'string' ? fn.name : '', input: inputOf(fn.arguments) });
  });
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    ...stopReasonOf(choice.finish_reason, choice.stop_reason, stopSequences),
    usage: messagesUsage(chat.usage),
  };
}
