import { MESSAGES_STREAM } from '../proxy/stream-formats.js';
import { countTokensRequestSchema, messagesRequestSchema } from '../schemas/messages.js';
import type { EndpointDescription } from './endpoint.js';

/**
 * Anthropic's Messages API, for Claude models, and chat models by translation: errors in its envelope, the key
 * also taken from `x-api-key`.
 */
const common = {
  kinds: ['messages'],
  api: 'anthropic',
  affinityFields: ['metadata.user_id'],
} as const;

/** `POST /v1/messages`, plain and streamed (Claude Code adds `?beta=true`, which goes upstream as sent). */
export const messages: EndpointDescription = {
  ...common,
  path: '/v1/messages',
  upstreamPath: '/messages',
  schema: messagesRequestSchema,
  stream: MESSAGES_STREAM,
  translatesChat: 'forward',
};

/** Counts a request's input tokens without running it. */
export const messagesCountTokens: EndpointDescription = {
  ...common,
  path: '/v1/messages/count_tokens',
  upstreamPath: '/messages/count_tokens',
  schema: countTokensRequestSchema,
  translatesChat: 'count',
};
