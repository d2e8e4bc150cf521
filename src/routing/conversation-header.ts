import type { IncomingHttpHeaders } from 'node:http';

/**
 * The conversation a header source of `sticky.sources` names: `X-Conversation-Id`, or an agent's session
 * header (`session_id`, or `session-id` as Codex sends it). Undefined when the request carries none.
 */
export function headerConversation(headers: IncomingHttpHeaders, source: 'x-conversation-id' | 'session_id'): string | undefined {
  const raw = source === 'session_id' ? (headers.session_id ?? headers['session-id']) : headers[source];
  const id = Array.isArray(raw) ? raw[0] : raw;
  return id === '' ? undefined : id;
}
