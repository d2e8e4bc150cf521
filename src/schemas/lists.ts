import { z } from 'zod';

/**
 * Longest arrays a body may hold, checked before any item is. Where OpenAI documents a maximum the gateway
 * uses it; where it documents none, the limit is far beyond what a real request reaches (a million-token
 * context holds a few thousand turns).
 */
export const LIST_LIMITS = {
  /** No documented maximum. */
  messages: 10_000,
  /** No documented maximum (OpenAI accepts up to 500 images in one request). */
  contentParts: 10_000,
  /** No documented maximum. */
  toolCalls: 10_000,
  /** OpenAI: "A max of 128 functions are supported." */
  tools: 128,
  /** OpenAI: "Up to 4 sequences." */
  stop: 4,
  /** OpenAI: at most 2048 inputs in one embeddings request. */
  embeddingInputs: 2048,
  /** No documented maximum: items of a Responses input, texts of a prompt or a moderation. */
  inputItems: 10_000,
} as const;

/**
 * An array of at most `max` items, each checked against `item` in turn until the first that fails. Its
 * length is checked before any item, and a long array of bad items costs that one item's issues, not every
 * item's (zod's own arrays check each item and report all): a hostile body costs no more than a real one.
 * Items are run as zod's arrays run them, so their issues keep what a union needs to pick its branch.
 * Too long an array is reported as OpenAI does (`array_above_max_length`, see `validateBody`).
 */
export function listOf<T extends z.ZodType>(item: T, max: number, min?: { length: number; message: string }): z.ZodType<z.output<T>[]> {
  let list = z.array(z.unknown());
  if (min !== undefined) list = list.min(min.length, min.message);
  return list.check((payload) => {
    const items = payload.value;
    if (items.length > max) {
      payload.issues.push({
        code: 'too_big',
        origin: 'array',
        maximum: max,
        inclusive: true,
        input: items,
        message: `array too long. Expected an array with maximum length ${max}, but got an array with length ${items.length} instead.`,
        // Not aborting: in a union (`stop`: a string or a list) this branch's issue is the one reported.
        continue: true,
      });
      return;
    }
    for (let i = 0; i < items.length; i++) {
      const result = item._zod.run({ value: items[i], issues: [] }, { async: false });
      if (result instanceof Promise) throw new Error('listOf takes synchronous item schemas only');
      if (result.issues.length === 0) continue;
      for (const issue of result.issues) payload.issues.push({ ...issue, path: [i, ...(issue.path ?? [])] });
      return;
    }
  }) as unknown as z.ZodType<z.output<T>[]>;
}
