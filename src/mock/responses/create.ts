// POST /v1/responses: the response object, plain or as OpenAI's event stream, stored per account.
import { isPlan, json } from '../errors.js';
import { unixNow } from '../text.js';
import type { Ctx, Json, Plan, State } from '../types.js';
import { responseEvents } from './events.js';
import { seal } from './sealing.js';
import { planTurn, type Turn } from './turn.js';

export interface ResponseIds {
  response: string;
  reasoning: string;
  message: string;
  call: string;
  callId: string;
}

/** Response ids carry the server's instance tag so two mocks never issue the same one. */
function idsFor(ctx: Ctx, state: State): ResponseIds {
  const tag = `${state.instance}${ctx.n}`;
  return { response: `resp_${tag}`, reasoning: `rs_${tag}`, message: `msg_${tag}`, call: `fc_${tag}`, callId: `call_${tag}` };
}

const wantsEncryptedReasoning = (body: Json): boolean =>
  Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content');

/** The finished output items, in order: reasoning (when the model reasons), then the message or call. */
function outputItems(ctx: Ctx, turn: Turn, ids: ResponseIds): Json[] {
  const items: Json[] = [];
  if (turn.reasoningTokens > 0) {
    const reasoning: Json = { id: ids.reasoning, type: 'reasoning', summary: [] };
    if (wantsEncryptedReasoning(turn.body)) {
      reasoning.encrypted_content = seal(ctx.apiKey, { kind: 'reasoning', id: ids.reasoning });
    }
    items.push(reasoning);
  }
  const { reply } = turn;
  if (reply.kind === 'text') {
    const part = { type: 'output_text', annotations: [], logprobs: [], text: reply.text };
    items.push({ id: ids.message, type: 'message', status: 'completed', content: [part], role: 'assistant' });
  } else {
    items.push({
      id: ids.call,
      type: 'function_call',
      status: 'completed',
      arguments: reply.arguments,
      call_id: ids.callId,
      name: reply.name,
    });
  }
  return items;
}

/** The response object with the request's settings echoed, as OpenAI returns it. */
function responseObject(turn: Turn, id: string, status: string, output: Json[], usage: object | null): Json {
  const b = turn.body;
  const given = (v: unknown, fallback: unknown): unknown => (v === undefined ? fallback : v);
  return {
    id,
    object: 'response',
    created_at: unixNow(),
    status,
    background: given(b.background, false),
    error: null,
    incomplete_details: null,
    instructions: given(b.instructions, null),
    max_output_tokens: given(b.max_output_tokens, null),
    model: turn.model,
    output,
    parallel_tool_calls: given(b.parallel_tool_calls, true),
    previous_response_id: given(b.previous_response_id, null),
    prompt_cache_key: given(b.prompt_cache_key, null),
    reasoning: given(b.reasoning, { effort: null, summary: null }),
    store: given(b.store, true),
    temperature: given(b.temperature, 1),
    text: given(b.text, { format: { type: 'text' } }),
    tool_choice: given(b.tool_choice, 'auto'),
    tools: given(b.tools, []),
    top_p: given(b.top_p, 1),
    truncation: given(b.truncation, 'disabled'),
    usage,
    user: given(b.user, null),
    metadata: given(b.metadata, {}),
  };
}

export function createResponse(ctx: Ctx, state: State): Plan {
  const turn = planTurn(ctx, state);
  if (isPlan(turn)) return turn;
  const ids = idsFor(ctx, state);
  const output = outputItems(ctx, turn, ids);
  const done = responseObject(turn, ids.response, 'completed', output, turn.usage);
  const store = turn.body.store !== false;
  const background = turn.body.background === true && turn.body.stream !== true;
  if (store) {
    const queued = background ? responseObject(turn, ids.response, 'queued', [], null) : undefined;
    state.responses.put(ids.response, {
      account: ctx.apiKey,
      response: queued ?? done,
      inputItems: turn.inputItems,
      ...(queued === undefined ? {} : { pending: done }),
    });
    if (queued !== undefined) return json(200, JSON.stringify(queued));
  }
  if (turn.body.stream !== true) return json(200, JSON.stringify(done));
  return responseEvents(done, output, state.streamChunks);
}
