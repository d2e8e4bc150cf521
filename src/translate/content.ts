import { invalidRequest } from '../errors.js';
import { isObject, untranslatable, type Json } from './untranslatable.js';

// A Messages conversation as chat messages. Thinking blocks are dropped: they are the signed reasoning of the
// model that wrote them, which no other provider can take back, and a chat model's own reasoning is not
// replayed either. Any block type chat completions has no place for is refused by name.

/**
 * The system prompt, then each turn: user turns may become `tool` messages and a user message, assistant and
 * system turns one message.
 */
export function chatMessagesOf(system: unknown, messages: readonly unknown[]): Json[] {
  const out: Json[] = [];
  const systemText = systemTextOf(system);
  if (systemText !== undefined) out.push({ role: 'system', content: systemText });
  messages.forEach((message, i) => {
    const { role, content } = message as Json;
    const at = `messages[${i}]`;
    out.push(...(role === 'assistant' ? assistantMessages(content, at) : role === 'system' ? systemMessages(content, at) : userMessages(content, at)));
  });
  return out;
}

/** A string, or text blocks joined by blank lines; undefined when there is none. */
function systemTextOf(system: unknown): string | undefined {
  if (typeof system === 'string') return system === '' ? undefined : system;
  if (!Array.isArray(system) || system.length === 0) return undefined;
  return system.map((block, i) => textOf(block as Json, `system[${i}]`)).join('\n\n');
}

/** A system message in the conversation: a chat `system` message at the same place, its text blocks joined by blank lines. */
function systemMessages(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return [{ role: 'system', content }];
  const texts = blocksOf(content).map((block, j) => {
    if (block.type !== 'text') throw untranslatable(`${at}.content[${j}].type`, `a '${String(block.type)}' block in a system message`);
    return textOf(block, `${at}.content[${j}]`);
  });
  return [{ role: 'system', content: texts.join('\n\n') }];
}

/**
 * Tool results become `tool` messages, placed first as chat completions wants them right after the assistant's
 * calls; the rest (text, images, and the images tool results carried) follows as one user message.
 */
function userMessages(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const tools: Json[] = [];
  const parts: Json[] = [];
  blocksOf(content).forEach((block, j) => {
    const where = `${at}.content[${j}]`;
    if (block.type === 'text') parts.push({ type: 'text', text: textOf(block, where) });
    else if (block.type === 'image') parts.push(imagePart(block, where));
    else if (block.type === 'tool_result') {
      const { message, images } = toolMessage(block, where);
      tools.push(message);
      parts.push(...images);
    } else if (!isThinking(block)) throw untranslatable(`${where}.type`, `a '${String(block.type)}' block in a user turn`);
  });
  if (parts.length === 0) return tools;
  // Plain text goes as a string: every chat upstream takes that, not all take a list of parts.
  const text = parts.length === 1 && parts[0]!.type === 'text' ? (parts[0]!.text as string) : undefined;
  return [...tools, { role: 'user', content: text ?? parts }];
}

/** Text blocks joined by blank lines, tool_use blocks as tool calls (their input as a JSON string). */
function assistantMessages(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return [{ role: 'assistant', content }];
  const texts: string[] = [];
  const calls: Json[] = [];
  blocksOf(content).forEach((block, j) => {
    const where = `${at}.content[${j}]`;
    if (block.type === 'text') texts.push(textOf(block, where));
    else if (block.type === 'tool_use') {
      const call = { id: stringAt(block, 'id', where), type: 'function', function: { name: stringAt(block, 'name', where), arguments: JSON.stringify(block.input ?? {}) } };
      calls.push(call);
    } else if (!isThinking(block)) throw untranslatable(`${where}.type`, `a '${String(block.type)}' block in an assistant turn`);
  });
  if (texts.length === 0 && calls.length === 0) return [];
  const message: Json = { role: 'assistant', content: texts.length === 0 ? null : texts.join('\n\n') };
  if (calls.length > 0) message.tool_calls = calls;
  return [message];
}

/** A `tool` message with the result's text (`Error: ` before it when `is_error`), and the images it carried. */
function toolMessage(block: Json, where: string): { message: Json; images: Json[] } {
  const id = stringAt(block, 'tool_use_id', where);
  const images: Json[] = [];
  let text = '';
  const content = block.content;
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    const texts: string[] = [];
    blocksOf(content).forEach((inner, k) => {
      const innerAt = `${where}.content[${k}]`;
      if (inner.type === 'text') texts.push(textOf(inner, innerAt));
      else if (inner.type === 'image') images.push(imagePart(inner, innerAt));
      else throw untranslatable(`${innerAt}.type`, `a '${String(inner.type)}' block in a tool result`);
    });
    text = texts.join('\n\n');
  } else if (content !== undefined && content !== null) throw untranslatable(`${where}.content`, 'a tool result that is neither a string nor blocks');
  if (block.is_error === true) text = `Error: ${text}`;
  return { message: { role: 'tool', tool_call_id: id, content: text }, images };
}

/** An image block as an `image_url` part: base64 data as a data URL, a URL as it is. */
function imagePart(block: Json, where: string): Json {
  const source = isObject(block.source) ? block.source : {};
  if (source.type === 'base64') {
    return { type: 'image_url', image_url: { url: `data:${stringAt(source, 'media_type', `${where}.source`)};base64,${stringAt(source, 'data', `${where}.source`)}` } };
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: stringAt(source, 'url', `${where}.source`) } };
  throw untranslatable(`${where}.source.type`, `an image source of type '${String(source.type)}'`);
}

/** A text block's text; citations have no place in a chat message. */
function textOf(block: Json, where: string): string {
  if (Array.isArray(block.citations) && block.citations.length > 0) throw untranslatable(`${where}.citations`, 'citations');
  return stringAt(block, 'text', where);
}

function stringAt(object: Json, field: string, where: string): string {
  const value = object[field];
  if (typeof value !== 'string') throw invalidRequest(`Invalid value for '${where}.${field}': expected a string.`, `${where}.${field}`, 'invalid_type');
  return value;
}

function blocksOf(content: unknown): Json[] {
  return (Array.isArray(content) ? content : []).map((block) => (isObject(block) ? block : {}));
}

const isThinking = (block: Json): boolean => block.type === 'thinking' || block.type === 'redacted_thinking';
