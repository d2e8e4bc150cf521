import { invalidRequest } from '../errors.js';
import { typedEventStream } from '../proxy/stream-formats.js';
import { imageRequestSchema } from '../schemas/images.js';
import type { EndpointDescription } from './endpoint.js';

export const imagesGenerations: EndpointDescription = {
  path: '/v1/images/generations',
  upstreamPath: '/images/generations',
  kinds: ['image'],
  schema: imageRequestSchema,
  // `stream: true` sends partial images, then the final one with the usage.
  stream: typedEventStream(['image_generation.completed'], String.raw`image_generation\.partial_image`),
  checkModel(body, model) {
    const n = typeof body.n === 'number' ? body.n : 1;
    if (model.maxImagesPerRequest !== undefined && n > model.maxImagesPerRequest) {
      throw invalidRequest(`Invalid value for 'n': ${model.id} supports at most n=${model.maxImagesPerRequest}.`, 'n', 'invalid_value');
    }
  },
};
