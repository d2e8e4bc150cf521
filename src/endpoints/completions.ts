import { CHAT_STREAM } from '../proxy/stream-formats.js';
import { completionsRequestSchema } from '../schemas/completions.js';
import type { EndpointDescription } from './endpoint.js';

/** Legacy text completions: streams report usage only when asked, as chat streams do. */
export const completions: EndpointDescription = {
  path: '/v1/completions',
  upstreamPath: '/completions',
  kinds: ['completion'],
  schema: completionsRequestSchema,
  asksForStreamUsage: true,
  stream: CHAT_STREAM,
};
