import { z } from 'zod';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({ type: z.literal('image_url'), image_url: z.looseObject({ url: z.string() }) });

/** `model` is optional, as in OpenAI's API; `input` is text, texts, or text and image parts. */
export const moderationsRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()).min(1, 'must not be empty'), z.array(z.discriminatedUnion('type', [textPart, imagePart])).min(1, 'must not be empty')]),
});
