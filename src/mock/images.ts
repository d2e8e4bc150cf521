// POST /v1/images/generations (JSON) and /v1/images/edits (multipart): one tiny PNG per image.
import { badBody, isPlan, json, missingParam } from './errors.js';
import { formFiles, formString, readForm } from './multipart.js';
import { countWords, isObject, TOKENS_PER_IMAGE_PART, unixNow } from './text.js';
import type { Ctx, Plan } from './types.js';

/** A valid 1x1 RGBA PNG: enough for clients that decode the image. */
export const MOCK_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** Output tokens billed per generated image (what gpt-image-1 bills for a low-quality square). */
export const IMAGE_OUTPUT_TOKENS = 272;

const imageCount = (n: unknown): number => (typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1);

/**
 * input_tokens = words of the prompt + TOKENS_PER_IMAGE_PART per input image (edits);
 * output_tokens = IMAGE_OUTPUT_TOKENS per image made.
 */
function imagesAnswer(prompt: string, n: number, inputImages: number): Plan {
  const textTokens = countWords(prompt);
  const imageTokens = inputImages * TOKENS_PER_IMAGE_PART;
  const inputTokens = textTokens + imageTokens;
  const outputTokens = IMAGE_OUTPUT_TOKENS * n;
  const data = [];
  for (let i = 0; i < n; i++) data.push({ b64_json: MOCK_PNG_BASE64 });
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { image_tokens: imageTokens, text_tokens: textTokens },
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    output_tokens_details: { image_tokens: outputTokens, text_tokens: 0 },
  };
  return json(200, JSON.stringify({ created: unixNow(), data, usage }));
}

export function imageGenerations(ctx: Ctx): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  if (typeof body.prompt !== 'string') return missingParam('prompt');
  return imagesAnswer(body.prompt, imageCount(body.n), 0);
}

export async function imageEdits(ctx: Ctx): Promise<Plan> {
  const form = await readForm(ctx.rec);
  if (isPlan(form)) return form;
  const images = formFiles(form, 'image', 'image[]');
  if (images.length === 0) return missingParam('image');
  const prompt = formString(form, 'prompt');
  if (prompt === undefined) return missingParam('prompt');
  return imagesAnswer(prompt, imageCount(Number(formString(form, 'n') ?? 1)), images.length);
}
