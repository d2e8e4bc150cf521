// The request bodies and headers every bench client sends.

/** The gateway's two client keys: team-batch has limits on Redis, and carries the load of `npm run bench`. */
export const CLIENT_KEYS = ['sk-bench-team-web-4f9c2a7e1b', 'sk-bench-team-batch-8d3e6f0a52'] as const;
/** The limited key, index into CLIENT_KEYS. */
export const LIMITED_KEY = 1;

/** The one conversation id every conversation request carries (one conversation, as an agent's loop sends). */
export const CONVERSATION_ID = 'bench-conv-0001';

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant for a support team. Answer in two sentences at most.' },
  { role: 'user', content: 'My order arrived with a cracked screen. What are my options for a replacement or refund?' },
];
export const CHAT_BODY = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, temperature: 0.7, max_tokens: 256 });
export const STREAM_BODY = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, temperature: 0.7, max_tokens: 256, stream: true });
/** What the gateway forwards for STREAM_BODY: it asks for the usage event. */
export const STREAM_BODY_WITH_USAGE = JSON.stringify({
  model: 'gpt-4o',
  messages: MESSAGES,
  temperature: 0.7,
  max_tokens: 256,
  stream: true,
  stream_options: { include_usage: true },
});
export const RESPONSES_BODY = JSON.stringify({
  model: 'gpt-4o',
  instructions: MESSAGES[0]!.content,
  input: MESSAGES[1]!.content,
  max_output_tokens: 256,
  stream: true,
});

/** Anthropic's Messages API, to the `anthropic` upstream: the same conversation, plain and streamed. */
export const MESSAGES_MODEL = 'claude-sonnet-4-6';
export const MESSAGES_BODY = JSON.stringify({ model: MESSAGES_MODEL, system: MESSAGES[0]!.content, messages: [MESSAGES[1]], max_tokens: 256 });
export const MESSAGES_STREAM_BODY = JSON.stringify({ model: MESSAGES_MODEL, system: MESSAGES[0]!.content, messages: [MESSAGES[1]], max_tokens: 256, stream: true });

/**
 * Headers of a request with client key `key` (an index into CLIENT_KEYS, or the secret itself, such as one the
 * keys store issued), with or without the conversation id.
 */
export function requestHeaders(key: number | string, conversation: boolean): Record<string, string> {
  const secret = typeof key === 'string' ? key : CLIENT_KEYS[key % CLIENT_KEYS.length];
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
  if (conversation) headers['x-conversation-id'] = CONVERSATION_ID;
  return headers;
}
