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
} as const;

/**
 * An array of at most `max` items, each checked against `item` in turn until the first that fails. Its
 * length is checked before any item, and a long array of bad items costs one issue, not one per item
 * (zod itself would check every item and report each): a hostile body costs no more than a real one.
 * Too long an array is reported as OpenAI does (`array_above_max_length`, see `validateBody`).
 */
export function listOf<T extends z.ZodType>(item: T, max: number, min?: { length: number; message: string }): z.ZodType<z.output<T>[]> {
  let list = z.array(z.unknown());
  if (min !== undefined) list = list.min(min.length, { message: min.message, abort: true });
  return list.superRefine((items, ctx) => {
    if (items.length > max) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'array',
        maximum: max,
        inclusive: true,
        message: `array too long. Expected an array with maximum length ${max}, but got an array with length ${items.length} instead.`,
      });
      return;
    }
    for (let i = 0; i < items.length; i++) {
      const result = item.safeParse(items[i]);
      if (result.success) continue;
      for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: [i, ...issue.path] });
      return;
    }
  }) as unknown as z.ZodType<z.output<T>[]>;
}
