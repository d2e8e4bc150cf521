// The deterministic "model": word-count tokens and echo replies, shared by every endpoint.
import type { Json } from './types.js';

/** Prompt tokens charged per image part and per message (see countPromptTokens). */
export const TOKENS_PER_IMAGE_PART = 10;
export const TOKENS_PER_MESSAGE = 3;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m === null ? 0 : m.length;
}

const IMAGE_PART_TYPES = new Set(['image_url', 'input_image']);

/** Text parts (joined with a space) and the number of image parts of one message's content. */
export function readContent(content: unknown): { text: string; images: number; words: number } {
  if (typeof content === 'string') return { text: content, images: 0, words: countWords(content) };
  if (!Array.isArray(content)) return { text: '', images: 0, words: 0 };
  const texts: string[] = [];
  let images = 0;
  let words = 0;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (typeof part.type === 'string' && IMAGE_PART_TYPES.has(part.type)) images++;
    else if (typeof part.text === 'string') {
      texts.push(part.text);
      words += countWords(part.text);
    }
  }
  return { text: texts.join(' '), images, words };
}

/**
 * Token accounting (deterministic, no tokenizer):
 *   prompt_tokens     = whitespace-separated words across all messages' text parts
 *                       + TOKENS_PER_IMAGE_PART (10) per image part + TOKENS_PER_MESSAGE (3) per message
 *   completion_tokens = words in the reply (for a tool call: words in "<name> <arguments>"), times n
 *   total_tokens      = prompt_tokens + completion_tokens
 */
export function countPromptTokens(messages: unknown[]): number {
  let tokens = 0;
  for (const m of messages) tokens += messageTokens(isObject(m) ? m.content : undefined);
  return tokens;
}

export function messageTokens(content: unknown): number {
  const c = readContent(content);
  return c.words + c.images * TOKENS_PER_IMAGE_PART + TOKENS_PER_MESSAGE;
}

/** "Echo: " + the text (+ " [N image(s)]" when it had image parts). */
export function echoOf(content: unknown): string {
  const c = readContent(content);
  const images = c.images === 0 ? '' : ` [${c.images} image${c.images === 1 ? '' : 's'}]`;
  return `Echo: ${c.text}${images}`;
}

/** Echo of the last user message. */
export function echoReply(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isObject(m) && m.role === 'user') return echoOf(m.content);
  }
  return 'Echo: ';
}

/** The text of the last user message ('' when there is none). */
export function lastUserText(messages: unknown[]): string {
  const user = messages.findLast((m): m is Json => isObject(m) && m.role === 'user');
  return user === undefined ? '' : readContent(user.content).text;
}

/** Splits text into `count` pieces (by code point, so no surrogate pair is cut) that concatenate back to it. */
export function splitInto(text: string, count: number): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * chars.length) / count);
    const to = Math.floor(((i + 1) * chars.length) / count);
    pieces.push(chars.slice(from, to).join(''));
  }
  return pieces;
}

/** Cached prompt tokens: 3/4 of the prompt once the (account, cache key) pair was seen before. */
export function cachedTokens(seen: Set<string>, apiKey: string, cacheKey: unknown, promptTokens: number): number {
  if (typeof cacheKey !== 'string' || cacheKey === '') return 0;
  const key = `${apiKey}\n${cacheKey}`;
  if (seen.has(key)) return Math.floor(promptTokens * 0.75);
  seen.add(key);
  return 0;
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);
