import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

const notEmpty = { length: 1, message: 'must not be empty' };
const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({ type: z.literal('image_url'), image_url: z.looseObject({ url: z.string() }) });

/** `model` is optional, as in OpenAI's API; `input` is text, texts, or text and image parts. */
export const moderationsRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([
    z.string(),
    listOf(z.string(), LIST_LIMITS.inputItems, notEmpty),
    listOf(z.discriminatedUnion('type', [textPart, imagePart]), LIST_LIMITS.inputItems, notEmpty),
  ]),
});
