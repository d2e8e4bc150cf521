// The request bodies and headers every bench client sends.

/** The gateway's two client keys; requests alternate between them. */
export const CLIENT_KEYS = ['sk-bench-team-web-4f9c2a7e1b', 'sk-bench-team-batch-8d3e6f0a52'] as const;

/** Size of the X-Conversation-Id pool in the conversation scenarios. */
export const CONVERSATIONS = 1_000;

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant for a support team. Answer in two sentences at most.' },
  { role: 'user', content: 'My order arrived with a cracked screen. What are my options for a replacement or refund?' },
];
export const CHAT_BODY = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, temperature: 0.7, max_tokens: 256 });
export const STREAM_BODY = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, temperature: 0.7, max_tokens: 256, stream: true });
export const IMAGE_BODY = JSON.stringify({
  model: 'gpt-image-2',
  prompt: 'A watercolour of a sea otter reading a newspaper on a rock at sunrise',
  size: '1024x1024',
  quality: 'low',
});

/** Headers of the i-th request: client keys alternate; conversation ids cycle through the pool. */
export function requestHeaders(i: number, conversation: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${CLIENT_KEYS[i % CLIENT_KEYS.length]}`,
  };
  if (conversation) headers['x-conversation-id'] = `bench-conv-${(i % CONVERSATIONS).toString().padStart(4, '0')}`;
  return headers;
}
