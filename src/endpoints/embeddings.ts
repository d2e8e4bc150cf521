import { embeddingsRequestSchema } from '../schemas/embeddings.js';
import type { EndpointDescription } from './endpoint.js';

export const embeddings: EndpointDescription = {
  path: '/v1/embeddings',
  upstreamPath: '/embeddings',
  kinds: ['embedding'],
  schema: embeddingsRequestSchema,
};
