// What the mock "model" does with a Responses request: the input it sees (previous response
// included), whether it calls a function or answers text, whether it reasons, and the token counts.
import { badBody, invalidRequest, isPlan, missingParam } from '../errors.js';
import { cachedTokens, countWords, echoOf, isObject, messageTokens, readContent, TOKENS_PER_MESSAGE } from '../text.js';
import { argumentsFor, namedTool, toolOutputReply } from '../tools.js';
import type { Ctx, Json, Plan, State } from '../types.js';
import { checkSealedItems } from './sealing.js';
import type { StoredResponse } from './store.js';

/** Reasoning tokens per response by `reasoning.effort` (medium when a reasoning model gets none). */
export const REASONING_TOKENS: Readonly<Record<string, number>> = { minimal: 4, low: 8, medium: 16, high: 32, xhigh: 64 };
const REASONING_MODEL = /^(o\d|gpt-5)/;
const TOOL_OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output']);

export type Reply = { kind: 'text'; text: string } | { kind: 'call'; name: string; arguments: string };

export interface Turn {
  body: Json;
  model: string;
  previous: StoredResponse | undefined;
  /** The request's own input items, each with an id. */
  inputItems: Json[];
  reply: Reply;
  /** 0 when the model does not reason (then no reasoning item is produced). */
  reasoningTokens: number;
  usage: Usage;
}

export interface Usage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function makeUsage(input: number, cached: number, output: number, reasoning: number): Usage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

/** A string input is one user message; an array is taken as given; anything else is a 400. */
function inputItemsOf(input: unknown, ctx: Ctx): Json[] | Plan {
  let items: unknown[];
  if (input === undefined || input === null) items = [];
  else if (typeof input === 'string') items = [{ type: 'message', role: 'user', content: input }];
  else if (Array.isArray(input)) items = input;
  else return invalidRequest("Invalid type for 'input': expected a string or an array of input items.", 'invalid_type', 'input');
  return items.map((item, i): Json => {
    const it = isObject(item) ? item : { value: item };
    const isMessage = it.type === 'message' || (it.type === undefined && typeof it.role === 'string');
    const id = typeof it.id === 'string' ? it.id : `${isMessage ? 'msg' : 'item'}_mock_${ctx.n}_${i}`;
    if (!isMessage) return { ...it, id };
    const content = typeof it.content === 'string' ? [{ type: 'input_text', text: it.content }] : it.content;
    return { id, type: 'message', role: it.role, content, status: 'completed' };
  });
}

/**
 * Input tokens: the previous response's input + output (its context is billed again), then per item:
 * a message counts as in chat (words + images + TOKENS_PER_MESSAGE), a function call the words of
 * "<name> <arguments>", a tool output its words; `instructions` count as one message.
 */
export function countInputTokens(body: Json, items: readonly Json[], previous: StoredResponse | undefined): number {
  let tokens = 0;
  if (previous !== undefined) {
    const u = previous.response.usage;
    if (isObject(u)) tokens += Number(u.input_tokens) + Number(u.output_tokens);
  }
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    tokens += countWords(body.instructions) + TOKENS_PER_MESSAGE;
  }
  for (const item of items) {
    if (item.type === 'message') tokens += messageTokens(item.content);
    else if (item.type === 'function_call') tokens += countWords(`${String(item.name)} ${String(item.arguments)}`);
    else if (typeof item.type === 'string' && TOOL_OUTPUT_TYPES.has(item.type)) tokens += readContent(item.output).words;
  }
  return tokens;
}

/**
 * A function call when the request declares function tools and either names one in `tool_choice`,
 * or the user's text mentions a tool by name, or `tool_choice` is "required" (then the first tool).
 */
function pickCall(body: Json, userText: string): Reply | undefined {
  const { tools, tool_choice: choice } = body;
  if (!Array.isArray(tools) || choice === 'none') return undefined;
  const fns = tools.filter((t): t is Json => isObject(t) && t.type === 'function' && typeof t.name === 'string');
  const forced = isObject(choice) && choice.type === 'function' && typeof choice.name === 'string' ? choice.name : undefined;
  const tool =
    forced !== undefined
      ? (fns.find((t) => t.name === forced) ?? { name: forced })
      : (namedTool(fns, (t) => t.name, userText) ?? (choice === 'required' ? fns[0] : undefined));
  if (tool === undefined) return undefined;
  return { kind: 'call', name: tool.name as string, arguments: JSON.stringify(argumentsFor(tool.parameters, userText)) };
}

function decideReply(body: Json, items: readonly Json[]): Reply {
  const last = items.at(-1);
  if (last !== undefined && typeof last.type === 'string' && TOOL_OUTPUT_TYPES.has(last.type)) {
    return { kind: 'text', text: toolOutputReply([last.output]) };
  }
  const user = items.findLast((item) => item.type === 'message' && item.role === 'user');
  const userText = user === undefined ? '' : readContent(user.content).text;
  return pickCall(body, userText) ?? { kind: 'text', text: user === undefined ? 'Echo: ' : echoOf(user.content) };
}

function reasoningTokensFor(body: Json, model: string): number {
  const reasoning = isObject(body.reasoning) ? body.reasoning : undefined;
  const effort = typeof reasoning?.effort === 'string' ? reasoning.effort : undefined;
  if (effort === 'none' || (reasoning === undefined && !REASONING_MODEL.test(model))) return 0;
  return REASONING_TOKENS[effort ?? 'medium'] ?? REASONING_TOKENS.medium ?? 0;
}

/** The 400 OpenAI gives for a `previous_response_id` this account does not have. */
function previousNotFound(id: string): Plan {
  return invalidRequest(`Previous response with id '${id}' not found.`, 'previous_response_not_found', 'previous_response_id');
}

/** Checks shared by create, input_tokens and compact: body, input, previous response, sealed items. */
export function readRequest(ctx: Ctx, state: State): { body: Json; items: Json[]; previous: StoredResponse | undefined } | Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  const items = inputItemsOf(body.input, ctx);
  if (!Array.isArray(items)) return items;
  let previous: StoredResponse | undefined;
  if (typeof body.previous_response_id === 'string') {
    previous = state.responses.get(ctx.apiKey, body.previous_response_id);
    if (previous === undefined) return previousNotFound(body.previous_response_id);
  }
  const sealed = checkSealedItems(ctx.apiKey, items);
  if (sealed !== undefined) return sealed;
  return { body, items, previous };
}

export function planTurn(ctx: Ctx, state: State): Turn | Plan {
  const read = readRequest(ctx, state);
  if (isPlan(read)) return read;
  const { body, items, previous } = read;
  if (typeof body.model !== 'string') return missingParam('model');
  const reply = decideReply(body, items);
  const reasoningTokens = reasoningTokensFor(body, body.model);
  const inputTokens = countInputTokens(body, items, previous);
  const conversation = ctx.rec.headers['x-conversation-id'];
  const cacheKey = typeof conversation === 'string' && conversation !== '' ? conversation : body.prompt_cache_key;
  const cached = cachedTokens(state.seenCacheKeys, ctx.apiKey, cacheKey, inputTokens);
  const replyWords = reply.kind === 'text' ? countWords(reply.text) : countWords(`${reply.name} ${reply.arguments}`);
  return {
    body,
    model: body.model,
    previous,
    inputItems: items,
    reply,
    reasoningTokens,
    usage: makeUsage(inputTokens, cached, replyWords + reasoningTokens, reasoningTokens),
  };
}
