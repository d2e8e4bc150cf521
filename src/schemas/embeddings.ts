import { z } from 'zod';

/** OpenAI's documented maximum of inputs in one embeddings request. */
export const MAX_EMBEDDING_INPUTS = 2048;

const tokens = z.array(z.number().int().nonnegative()).min(1, 'must not be empty');
const many = (item: z.ZodType) => z.array(item).min(1, 'must not be empty').max(MAX_EMBEDDING_INPUTS, `must hold at most ${MAX_EMBEDDING_INPUTS} inputs`);

export const embeddingsRequestSchema = z.looseObject({
  model: z.string(),
  input: z.union([z.string().min(1, 'must not be empty'), many(z.string()), many(z.number().int().nonnegative()), many(tokens)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});
