import type { IncomingHttpHeaders } from 'node:http';
import type { StickySource } from '../config/schema.js';

/**
 * The conversation a request belongs to, from the first of `sticky.sources` it carries: the
 * `X-Conversation-Id` header, Claude Code's `X-Claude-Code-Session-Id`, a body field (`metadata.user_id` or
 * `prompt_cache_key`, on endpoints whose description names it as an affinity field), or an agent's session
 * header (`session_id`, or `session-id` as Codex sends it).
 *
 * `bodyField` reads a body field, or is undefined while the body is unread: the answer is then undefined
 * as soon as a body source comes first, since the body may decide (the pin prefetch asks this way).
 */
export function conversationOf(
  headers: IncomingHttpHeaders,
  sources: readonly StickySource[],
  bodyField: ((field: string) => unknown) | undefined,
): string | undefined {
  for (const source of sources) {
    let id: unknown;
    if (source === 'prompt_cache_key' || source === 'metadata.user_id') {
      if (bodyField === undefined) return undefined;
      id = bodyField(source);
    } else {
      id = headerValue(headers, source);
    }
    if (typeof id === 'string' && id !== '') return id;
  }
  return undefined;
}

function headerValue(headers: IncomingHttpHeaders, source: 'x-conversation-id' | 'x-claude-code-session-id' | 'session_id'): string | undefined {
  const raw = source === 'session_id' ? (headers.session_id ?? headers['session-id']) : headers[source];
  return Array.isArray(raw) ? raw[0] : raw;
}
