// POST /v1/chat/completions: echo replies, tool calls, n > 1, and streams built from shared prefixes.
import { badBody, json, missingParam } from './errors.js';
import { cachedTokens, countPromptTokens, countWords, echoReply, isObject, lastUserText, splitInto, unixNow } from './text.js';
import { argumentsFor, namedTool, toolOutputReply, withoutTrailingSystem } from './tools.js';
import type { Ctx, Json, Plan, State } from './types.js';

export const DONE_EVENT = 'data: [DONE]\n\n';

interface ToolCall {
  name: string;
  arguments: string;
}

/**
 * The tool call to make, or undefined when the request should get a text reply: the tool `tool_choice` names
 * (called even when not declared, with no arguments), else the first the user's text names, else the first.
 */
function pickToolCall(body: Json, userText: string): ToolCall | undefined {
  const { tools, tool_choice: choice } = body;
  if (!Array.isArray(tools) || tools.length === 0 || choice === 'none') return undefined;
  const fns = tools.filter((t): t is Json => isObject(t) && t.type === 'function' && isObject(t.function)).map((t) => t.function as Json);
  const wanted = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  const fn = typeof wanted === 'string' ? fns.find((f) => f.name === wanted) : (namedTool(fns, (f) => f.name, userText) ?? fns[0]);
  if (fn === undefined) return typeof wanted === 'string' ? { name: wanted, arguments: '{}' } : undefined;
  return { name: typeof fn.name === 'string' ? fn.name : '', arguments: JSON.stringify(argumentsFor(fn.parameters, userText)) };
}

/** The contents of the `tool` messages that end the conversation (tool outputs to answer), or undefined. */
function toolOutputs(messages: unknown[]): unknown[] | undefined {
  const turns = withoutTrailingSystem(messages);
  let first = turns.length;
  while (first > 0 && isObject(turns[first - 1]) && (turns[first - 1] as Json).role === 'tool') first--;
  return first === turns.length ? undefined : turns.slice(first).map((m) => (m as Json).content);
}

export function chatCompletions(ctx: Ctx, state: State): Plan {
  const req = ctx.rec.body;
  if (!isObject(req)) return badBody(req);
  const messages = req.messages;
  if (!Array.isArray(messages)) return missingParam('messages');
  const model = typeof req.model === 'string' ? req.model : '';
  const n = typeof req.n === 'number' && Number.isInteger(req.n) && req.n > 1 ? req.n : 1;
  const id = `chatcmpl-mock-${ctx.n}`;
  const created = unixNow();
  const outputs = toolOutputs(messages);
  const tool = outputs === undefined ? pickToolCall(req, lastUserText(messages)) : undefined;
  const content = tool !== undefined ? null : outputs === undefined ? echoReply(messages) : toolOutputReply(outputs);

  const promptTokens = countPromptTokens(messages);
  const replyWords = tool === undefined ? countWords(content ?? '') : countWords(`${tool.name} ${tool.arguments}`);
  const completionTokens = replyWords * n;
  // Cache warms per (key, conversation): shows sticky routing paying off in the demo.
  const conversation = ctx.rec.headers['x-conversation-id'];
  const cacheKey = typeof conversation === 'string' && conversation !== '' ? conversation : req.prompt_cache_key;
  const cached = cachedTokens(state.seenCacheKeys, ctx.apiKey, cacheKey, promptTokens);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  const toolCall =
    tool === undefined
      ? undefined
      : { id: `call_mock_${ctx.n}`, type: 'function', function: { name: tool.name, arguments: tool.arguments } };
  const finish = tool === undefined ? 'stop' : 'tool_calls';

  if (req.stream !== true) {
    const message =
      toolCall === undefined
        ? { role: 'assistant', content, refusal: null }
        : { role: 'assistant', content: null, tool_calls: [toolCall] };
    const choices = [];
    for (let i = 0; i < n; i++) choices.push({ index: i, message, logprobs: null, finish_reason: finish });
    return json(
      200,
      JSON.stringify({ id, object: 'chat.completion', created, model, choices, system_fingerprint: null, usage }),
    );
  }

  // Streaming: every chunk shares this prefix, so only the choices are stringified per chunk.
  const includeUsage = isObject(req.stream_options) && req.stream_options.include_usage === true;
  const head =
    `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},` +
    `"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
  const tail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  const pieces: string[] = [];
  // One event per choice per step, as OpenAI does for n > 1.
  const step = (delta: object, finishReason: string | null): void => {
    const d = JSON.stringify(delta);
    const f = finishReason === null ? 'null' : `"${finishReason}"`;
    for (let i = 0; i < n; i++) {
      pieces.push(`${head}[{"index":${i},"delta":${d},"logprobs":null,"finish_reason":${f}}]${tail}`);
    }
  };
  step({ role: 'assistant', content: '' }, null);
  let holdAt: number;
  if (toolCall === undefined) {
    const texts = splitInto(content ?? '', state.streamChunks);
    holdAt = pieces.length + (texts.length - 1) * n;
    for (const text of texts) step({ content: text }, null);
  } else {
    holdAt = pieces.length;
    step({ tool_calls: [{ index: 0, ...toolCall }] }, null);
  }
  step({}, finish);
  if (includeUsage) pieces.push(`${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
  pieces.push(DONE_EVENT);
  return { kind: 'stream', pieces, holdAt };
}
