// Stored responses by id (GET, DELETE, cancel, input_items), input token counting and compaction.
// Another account's id is answered exactly like an unknown one.
import { invalidRequest, isPlan, json, notFound } from '../errors.js';
import { isObject, unixNow } from '../text.js';
import type { Ctx, Json, Plan, State } from '../types.js';
import { seal } from './sealing.js';
import type { StoredResponse } from './store.js';
import { countInputTokens, makeUsage, readRequest } from './turn.js';

/** Output tokens billed for a compaction pass. */
export const COMPACTION_OUTPUT_TOKENS = 16;

const responseNotFound = (id: string): Plan => notFound(`Response with id '${id}' not found.`);

/** A background response finishes when it is first looked at (unless it was cancelled first). */
function settle(stored: StoredResponse): Json {
  if (stored.pending !== undefined) {
    stored.response = stored.pending;
    delete stored.pending;
  }
  return stored.response;
}

function withStored(ctx: Ctx, state: State, use: (stored: StoredResponse) => Plan): Plan {
  const stored = state.responses.get(ctx.apiKey, ctx.param);
  return stored === undefined ? responseNotFound(ctx.param) : use(stored);
}

export const retrieveResponse = (ctx: Ctx, state: State): Plan =>
  withStored(ctx, state, (stored) => json(200, JSON.stringify(settle(stored))));

export function deleteResponse(ctx: Ctx, state: State): Plan {
  if (!state.responses.delete(ctx.apiKey, ctx.param)) return responseNotFound(ctx.param);
  return json(200, JSON.stringify({ id: ctx.param, object: 'response', deleted: true }));
}

/** Only background responses can be cancelled; one still pending becomes "cancelled". */
export const cancelResponse = (ctx: Ctx, state: State): Plan =>
  withStored(ctx, state, (stored) => {
    if (stored.response.background !== true) {
      return invalidRequest('Only responses created with background=true can be cancelled.');
    }
    if (stored.pending !== undefined) {
      delete stored.pending;
      stored.response = { ...stored.response, status: 'cancelled' };
    }
    return json(200, JSON.stringify(stored.response));
  });

/** `order` (desc by default, as OpenAI), `limit` (default 20) and `after` (an item id). */
export const listInputItems = (ctx: Ctx, state: State): Plan =>
  withStored(ctx, state, (stored) => {
    const q = ctx.rec.path.indexOf('?');
    const query = new URLSearchParams(q === -1 ? '' : ctx.rec.path.slice(q + 1));
    const items = query.get('order') === 'asc' ? [...stored.inputItems] : [...stored.inputItems].reverse();
    const after = query.get('after');
    const start = after === null ? 0 : items.findIndex((item) => item.id === after) + 1;
    const limit = Math.max(1, Math.min(100, Number(query.get('limit') ?? 20) || 20));
    const data = items.slice(start, start + limit);
    const page = {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < items.length,
    };
    return json(200, JSON.stringify(page));
  });

export function countResponseInputTokens(ctx: Ctx, state: State): Plan {
  const read = readRequest(ctx, state);
  if (isPlan(read)) return read;
  const tokens = countInputTokens(read.body, read.items, read.previous);
  return json(200, JSON.stringify({ object: 'response.input_tokens', input_tokens: tokens }));
}

/**
 * Codex's remote compaction: the user messages of the conversation, then one compaction item whose
 * encrypted content only this account can send back.
 */
export function compactResponse(ctx: Ctx, state: State): Plan {
  const read = readRequest(ctx, state);
  if (isPlan(read)) return read;
  const inputTokens = countInputTokens(read.body, read.items, read.previous);
  const earlier = read.previous?.inputItems ?? [];
  const userMessages = [...earlier, ...read.items].filter((item) => isObject(item) && item.role === 'user');
  const id = `cmp_${state.instance}${ctx.n}`;
  const compaction = { id, type: 'compaction', encrypted_content: seal(ctx.apiKey, { kind: 'compaction', id }) };
  const compacted = {
    id: `resp_${state.instance}${ctx.n}`,
    object: 'response.compaction',
    created_at: unixNow(),
    output: [...userMessages, compaction],
    usage: makeUsage(inputTokens, 0, COMPACTION_OUTPUT_TOKENS, 0),
  };
  return json(200, JSON.stringify(compacted));
}
