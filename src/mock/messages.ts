// POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API, plain and streamed, with tool
// use, thinking blocks and prompt-cache usage, on the same word-count "model" as the OpenAI endpoints.
import { anthropicError, isPlan, json } from './errors.js';
import { countWords, echoReply, isObject, lastUserText, splitInto, TOKENS_PER_MESSAGE } from './text.js';
import { argumentsFor, namedTool, toolOutputReply, withoutTrailingSystem } from './tools.js';
import type { Ctx, Json, Plan, State } from './types.js';

/** The thinking text of a request with `thinking.type: "enabled"` (its words are output tokens). */
export const MOCK_THINKING = 'Mock reasoning about the question.';
const THINKING_SIGNATURE = 'c2lnbmF0dXJlLW1vY2s=';

type Block = Json & { type: string };

/** The words of a content value (a string, or blocks whose text is counted). */
function blockWords(block: unknown): number {
  if (typeof block === 'string') return countWords(block);
  if (!isObject(block)) return 0;
  if (typeof block.text === 'string') return countWords(block.text);
  if (block.type === 'tool_result') return contentWords(block.content);
  return 0;
}

function contentWords(content: unknown): number {
  return Array.isArray(content) ? content.reduce((sum: number, b) => sum + blockWords(b), 0) : blockWords(content);
}

interface InputCount {
  tokens: number;
  /** Tokens up to and including the last block marked `cache_control`, and its TTL. */
  cacheable: number;
  ttl: '5m' | '1h';
  /** The text of that prefix: what the prompt cache is keyed on. */
  prefix: string;
}

/**
 * Input tokens: words of the system prompt and of every message's blocks, plus TOKENS_PER_MESSAGE per
 * message. The prefix up to the last `cache_control` mark is what the prompt cache holds.
 */
function countInput(body: Json): InputCount {
  const count: InputCount = { tokens: 0, cacheable: 0, ttl: '5m', prefix: '' };
  const parts: string[] = [];
  const visit = (block: unknown): void => {
    count.tokens += blockWords(block);
    parts.push(JSON.stringify(block));
    const mark = isObject(block) ? block.cache_control : undefined;
    if (isObject(mark)) {
      count.cacheable = count.tokens;
      count.ttl = mark.ttl === '1h' ? '1h' : '5m';
      count.prefix = parts.join('');
    }
  };
  const system = body.system;
  if (Array.isArray(system)) system.forEach(visit);
  else visit(system);
  for (const message of body.messages as unknown[]) {
    count.tokens += TOKENS_PER_MESSAGE;
    const content = isObject(message) ? message.content : undefined;
    if (Array.isArray(content)) content.forEach(visit);
    else visit(content);
  }
  return count;
}

/** An Anthropic 400 `invalid_request_error`. */
const invalid = (message: string): Plan => json(400, anthropicError('invalid_request_error', message));

/** The checks every Messages request meets, or the error plan. */
function readRequest(ctx: Ctx, needsMaxTokens: boolean): Json | Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return invalid('The request body is not valid JSON.');
  if (typeof body.model !== 'string') return invalid('model: Field required');
  if (needsMaxTokens && typeof body.max_tokens !== 'number') return invalid('max_tokens: Field required');
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  return body;
}

/** The tool outputs the last turn brings back (a user turn's `tool_result` blocks), or undefined. */
function toolOutputs(messages: unknown[]): unknown[] | undefined {
  const last = withoutTrailingSystem(messages).at(-1);
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return undefined;
  const results = last.content.filter((b): b is Json => isObject(b) && b.type === 'tool_result');
  return results.length === 0 ? undefined : results.map((b) => b.content);
}

/**
 * The tool to call, unless tools are off (`tool_choice.type: "none"`): the one `tool_choice` names, else the
 * first the user's text names, else the first declared.
 */
function pickTool(body: Json, userText: string): Block | undefined {
  const { tools, tool_choice: choice } = body;
  if (!Array.isArray(tools) || tools.length === 0 || (isObject(choice) && choice.type === 'none')) return undefined;
  const declared = tools.filter((t): t is Json => isObject(t));
  const forced = isObject(choice) && choice.type === 'tool' ? choice.name : undefined;
  const found = forced === undefined ? (namedTool(declared, (t) => t.name, userText) ?? declared[0]) : declared.find((t) => t.name === forced);
  if (found === undefined) return undefined;
  return { type: 'tool_use', id: '', name: found.name, input: argumentsFor(found.input_schema, userText) };
}

export function countMessageTokens(ctx: Ctx): Plan {
  const body = readRequest(ctx, false);
  if (isPlan(body)) return body;
  return json(200, JSON.stringify({ input_tokens: countInput(body).tokens }));
}

export function createMessage(ctx: Ctx, state: State): Plan {
  const body = readRequest(ctx, true);
  if (isPlan(body)) return body;
  const model = body.model as string;
  const input = countInput(body);
  // The prompt cache, per (key, prefix): the first request writes it, the later ones read it.
  let cacheRead = 0;
  let cacheWrite = 0;
  if (input.cacheable > 0) {
    const key = `${ctx.apiKey}\nanthropic\n${input.prefix}`;
    if (state.seenCacheKeys.has(key)) cacheRead = input.cacheable;
    else {
      state.seenCacheKeys.add(key);
      cacheWrite = input.cacheable;
    }
  }
  const blocks: Block[] = [];
  if (isObject(body.thinking) && body.thinking.type === 'enabled') blocks.push({ type: 'thinking', thinking: MOCK_THINKING, signature: THINKING_SIGNATURE });
  const messages = body.messages as unknown[];
  const outputs = toolOutputs(messages);
  const tool = outputs === undefined ? pickTool(body, lastUserText(messages)) : undefined;
  if (tool === undefined) blocks.push({ type: 'text', text: outputs === undefined ? echoReply(messages) : toolOutputReply(outputs) });
  else blocks.push({ ...tool, type: 'tool_use', id: `toolu_mock_${ctx.n}` });
  const outputTokens = blocks.reduce((sum, b) => sum + (b.type === 'thinking' ? countWords(MOCK_THINKING) : b.type === 'text' ? countWords(b.text as string) : countWords(`${b.name as string} ${JSON.stringify(b.input)}`)), 0);
  const stopReason = tool === undefined ? 'end_turn' : 'tool_use';
  const inputUsage = {
    input_tokens: input.tokens - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: input.ttl === '5m' ? cacheWrite : 0, ephemeral_1h_input_tokens: input.ttl === '1h' ? cacheWrite : 0 },
  };
  const id = `msg_mock_${state.instance}${ctx.n}`;
  const message = { id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null };
  if (body.stream !== true) return json(200, JSON.stringify({ ...message, usage: { ...inputUsage, output_tokens: outputTokens } }));
  return streamMessage({ ...message, content: [], stop_reason: null, usage: { ...inputUsage, output_tokens: 1 } }, blocks, stopReason, outputTokens, state.streamChunks);
}

const event = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The events of a streamed message: each block started, its deltas, stopped; the usage in message_start and message_delta. */
function streamMessage(start: Json, blocks: readonly Block[], stopReason: string, outputTokens: number, chunks: number): Plan {
  const pieces = [event('message_start', { message: start }), event('ping', {})];
  let holdAt = 0;
  blocks.forEach((block, index) => {
    const delta = (d: Json): number => pieces.push(event('content_block_delta', { index, delta: d })) - 1;
    if (block.type === 'thinking') {
      pieces.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      for (const part of splitInto(MOCK_THINKING, chunks)) delta({ type: 'thinking_delta', thinking: part });
      delta({ type: 'signature_delta', signature: block.signature });
    } else if (block.type === 'text') {
      pieces.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const part of splitInto(block.text as string, chunks)) holdAt = delta({ type: 'text_delta', text: part });
    } else {
      pieces.push(event('content_block_start', { index, content_block: { ...block, input: {} } }));
      holdAt = delta({ type: 'input_json_delta', partial_json: JSON.stringify(block.input) });
    }
    pieces.push(event('content_block_stop', { index }));
  });
  pieces.push(event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }));
  pieces.push(event('message_stop', {}));
  return { kind: 'stream', pieces, holdAt };
}
