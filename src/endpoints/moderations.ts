import { moderationsRequestSchema } from '../schemas/moderations.js';
import type { EndpointDescription } from './endpoint.js';

/** A request without a model goes upstream as sent, and counts as the catalog's default moderation model. */
export const moderations: EndpointDescription = {
  path: '/v1/moderations',
  upstreamPath: '/moderations',
  kinds: ['moderation'],
  schema: moderationsRequestSchema,
  modelOptional: true,
};
