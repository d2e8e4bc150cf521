import { z } from 'zod';

const range = (min: number, max: number) => z.number().min(min).max(max).nullish();
const tokenIds = z.array(z.number().int().nonnegative());

/** The legacy completions body: the prompt's shapes and the ranges the API fixes; the rest passes through. */
export const completionsRequestSchema = z.looseObject({
  model: z.string(),
  prompt: z.union([z.string(), z.array(z.string()), tokenIds, z.array(tokenIds)]).nullish(),
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
  stop: z.union([z.string(), z.array(z.string()).max(4, 'must hold at most 4 strings')]).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
});
