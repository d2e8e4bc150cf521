// POST /v1/completions (legacy): one echo choice per prompt, plain or streamed.
import { DONE_EVENT } from './chat.js';
import { badBody, json } from './errors.js';
import { countWords, isObject, splitInto, unixNow } from './text.js';
import type { Ctx, Plan, State } from './types.js';

const isTokens = (v: unknown): v is number[] => Array.isArray(v) && v.every((t) => Number.isInteger(t));

/** Each prompt as text to echo and its token count (words, or the length of a token array). */
function promptsOf(prompt: unknown): { text: string; tokens: number }[] {
  const one = (p: unknown): { text: string; tokens: number } =>
    typeof p === 'string' ? { text: p, tokens: countWords(p) } : { text: `[${isTokens(p) ? p.length : 0} tokens]`, tokens: isTokens(p) ? p.length : 0 };
  if (prompt === undefined || typeof prompt === 'string' || isTokens(prompt)) return [one(prompt ?? '')];
  return Array.isArray(prompt) ? prompt.map(one) : [one('')];
}

/** prompt_tokens as above; completion_tokens = words of the replies ("Echo: <prompt>"). */
export function completions(ctx: Ctx, state: State): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  const model = typeof body.model === 'string' ? body.model : '';
  const prompts = promptsOf(body.prompt);
  const replies = prompts.map((p) => `Echo: ${p.text}`);
  const promptTokens = prompts.reduce((sum, p) => sum + p.tokens, 0);
  const completionTokens = replies.reduce((sum, r) => sum + countWords(r), 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const id = `cmpl-mock-${ctx.n}`;
  const created = unixNow();
  if (body.stream !== true) {
    const choices = replies.map((text, index) => ({ text, index, logprobs: null, finish_reason: 'stop' }));
    return json(200, JSON.stringify({ id, object: 'text_completion', created, model, choices, usage, system_fingerprint: null }));
  }
  const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  const head = `data: {"id":"${id}","object":"text_completion","created":${created},"choices":`;
  const tail = `,"model":${JSON.stringify(model)},"system_fingerprint":null${includeUsage ? ',"usage":null' : ''}}\n\n`;
  const pieces: string[] = [];
  const step = (index: number, text: string, finish: string | null): void => {
    const choice = { text, index, logprobs: null, finish_reason: finish };
    pieces.push(`${head}[${JSON.stringify(choice)}]${tail}`);
  };
  let holdAt = 0;
  replies.forEach((reply, index) => {
    for (const text of splitInto(reply, state.streamChunks)) {
      holdAt = pieces.length;
      step(index, text, null);
    }
  });
  replies.forEach((_reply, index) => step(index, '', 'stop'));
  if (includeUsage) {
    pieces.push(`${head}[],"model":${JSON.stringify(model)},"system_fingerprint":null,"usage":${JSON.stringify(usage)}}\n\n`);
  }
  pieces.push(DONE_EVENT);
  return { kind: 'stream', pieces, holdAt };
}
