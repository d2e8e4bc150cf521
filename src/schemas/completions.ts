import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

const range = (min: number, max: number) => z.number().min(min).max(max).nullish();
const tokenIds = listOf(z.number().int().nonnegative(), LIST_LIMITS.inputItems);

/** The legacy completions body: the prompt's shapes and the ranges the API fixes; the rest passes through. */
export const completionsRequestSchema = z.looseObject({
  model: z.string(),
  prompt: z.union([z.string(), listOf(z.string(), LIST_LIMITS.inputItems), tokenIds, listOf(tokenIds, LIST_LIMITS.inputItems)]).nullish(),
  max_tokens: z.number().int().nonnegative().nullish(),
  temperature: range(0, 2),
  top_p: range(0, 1),
  presence_penalty: range(-2, 2),
  frequency_penalty: range(-2, 2),
  n: z.number().int().min(1).max(128).nullish(),
  best_of: z.number().int().min(0).max(20).nullish(),
  logprobs: z.number().int().min(0).max(5).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  stop: z.union([z.string(), listOf(z.string(), LIST_LIMITS.stop)]).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
});
