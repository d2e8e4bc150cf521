import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

const notEmpty = { length: 1, message: 'must not be empty' };
const tokens = listOf(z.number().int().nonnegative(), LIST_LIMITS.inputItems, notEmpty);
const many = (item: z.ZodType) => listOf(item, LIST_LIMITS.embeddingInputs, notEmpty);

export const embeddingsRequestSchema = z.looseObject({
  model: z.string(),
  input: z.union([z.string().min(1, 'must not be empty'), many(z.string()), many(z.number().int().nonnegative()), many(tokens)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});
