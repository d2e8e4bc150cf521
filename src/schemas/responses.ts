import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

/**
 * The Responses API body, checked only where the API fixes it. Item types, tool types and fields the
 * gateway does not know pass through untouched: OpenAI adds new ones every month, and a gateway that
 * refused them would break its clients.
 */
const range = (min: number, max: number) => z.number().min(min).max(max).nullish();

export const responsesRequestSchema = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), listOf(z.looseObject({}), LIST_LIMITS.inputItems)]).optional(),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: range(0, 2),
  top_p: range(0, 1),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  tools: listOf(z.looseObject({ type: z.string() }), LIST_LIMITS.tools).nullish(),
});
