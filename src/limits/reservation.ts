import type { KeyLimits } from './limiter.js';

/**
 * What a request may cost, held against its key's token limits from admission until it ends, so that
 * requests running at the same time cannot each pass on the same unspent tokens.
 *
 * The prompt is estimated from the body's size at about four bytes a token (English text runs at about
 * four characters a token, and JSON adds syntax, so this errs on the high side; a base64 image errs far
 * higher, and only until its request ends). The answer is reserved at the `max_tokens` the body names, or
 * the key's `reserveTokens`, or {@link DEFAULT_RESERVE_TOKENS}.
 */
export const BYTES_PER_PROMPT_TOKEN = 4;

/** Answer tokens reserved when neither the body nor the key says: a long chat answer. */
export const DEFAULT_RESERVE_TOKENS = 1_000;

/** The fields by which OpenAI's APIs cap an answer, in the order they are looked at. */
const ANSWER_CAPS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

export function promptEstimate(bodyBytes: number): number {
  return Math.ceil(Math.max(0, bodyBytes) / BYTES_PER_PROMPT_TOKEN);
}

/** The answer cap a parsed body names, if it names one. */
export function answerCap(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  for (const field of ANSWER_CAPS) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/** Tokens to reserve for a body of `bodyBytes` bytes whose answer is capped at `cap` (when it says). */
export function reservationFor(limits: KeyLimits, bodyBytes: number, cap: number | undefined): number {
  return promptEstimate(bodyBytes) + (cap ?? limits.reserveTokens ?? DEFAULT_RESERVE_TOKENS);
}
