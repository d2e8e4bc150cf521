import { CHAT_STREAM } from '../proxy/stream-formats.js';
import { chatRequestSchema } from '../schemas/chat.js';
import type { EndpointDescription } from './endpoint.js';

export const chatCompletions: EndpointDescription = {
  path: '/v1/chat/completions',
  upstreamPath: '/chat/completions',
  kinds: ['chat'],
  schema: chatRequestSchema,
  asksForStreamUsage: true,
  stream: CHAT_STREAM,
  affinityFields: ['prompt_cache_key'],
};
