import { z } from 'zod';
import { RESPONSES_STREAM } from '../proxy/stream-formats.js';
import { responsesRequestSchema } from '../schemas/responses.js';
import type { EndpointDescription, StoredResponseEndpoint } from './endpoint.js';

/** Chat models serve the Responses API; image models do not. */
const common = {
  kinds: ['chat'],
  schema: responsesRequestSchema,
  affinityFields: ['prompt_cache_key'],
  responseIdField: 'previous_response_id',
  stream: RESPONSES_STREAM,
} as const;

/** `POST /v1/responses`, plain and streamed. The API always reports usage: the gateway never asks for it. */
export const responses: EndpointDescription = {
  ...common,
  path: '/v1/responses',
  upstreamPath: '/responses',
  recordsResponses: true,
};

/**
 * Counts a request's input tokens without running it. `model` is optional here, as in OpenAI's API: without
 * one the request goes upstream as sent and counts as the catalog's first chat model.
 */
export const responsesInputTokens: EndpointDescription = {
  ...common,
  path: '/v1/responses/input_tokens',
  upstreamPath: '/responses/input_tokens',
  schema: responsesRequestSchema.extend({ model: z.string().optional() }),
  modelOptional: true,
};

/** Codex's remote compaction: its output is encrypted for one account, so it follows the create's affinity. */
export const responsesCompact: EndpointDescription = {
  ...common,
  path: '/v1/responses/compact',
  upstreamPath: '/responses/compact',
};

/** Retrieve, delete, cancel and list the input items of a stored response. */
export const storedResponseOperations: readonly StoredResponseEndpoint[] = [
  { method: 'GET', path: '/v1/responses/:id', upstreamPath: '/responses/:id', stream: RESPONSES_STREAM },
  { method: 'DELETE', path: '/v1/responses/:id', upstreamPath: '/responses/:id', stream: RESPONSES_STREAM, forgetsOwner: true },
  { method: 'POST', path: '/v1/responses/:id/cancel', upstreamPath: '/responses/:id/cancel', stream: RESPONSES_STREAM },
  { method: 'GET', path: '/v1/responses/:id/input_items', upstreamPath: '/responses/:id/input_items', stream: RESPONSES_STREAM },
];
