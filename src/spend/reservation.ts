import type { KeyLimits } from '../limits/limiter.js';
import { answerCap, DEFAULT_RESERVE_TOKENS, promptEstimate } from '../limits/reservation.js';
import type { MicroPricing } from './pricing.js';

/**
 * What a request may cost, in micro-dollars, held against its key's budgets from the moment its body is
 * read until it ends, so that requests running at the same time cannot each pass on the same unspent
 * dollars: the prompt estimated from the body's size (as the token limits estimate it) at the input price,
 * plus the answer's cap (`max_tokens` or its kin), else the key's `reserveTokens`, else
 * {@link DEFAULT_RESERVE_TOKENS}, at the output price; for a model priced per image, `n` images (1 unless
 * the body says). A model without a price reserves nothing: it is counted at $0.
 */
export function budgetReservation(price: MicroPricing | undefined, limits: KeyLimits, body: unknown, promptBytes: number): number {
  if (price === undefined) return 0;
  const answer = answerCap(body) ?? limits.reserveTokens ?? DEFAULT_RESERVE_TOKENS;
  const tokenMicros = promptEstimate(promptBytes) * price.input + answer * price.output;
  return Math.ceil(tokenMicros / 1_000_000) + imagesAsked(body) * price.perImage;
}

/** The `n` of an images request (a number in JSON, a string in a form), else 1. */
function imagesAsked(body: unknown): number {
  const n = typeof body === 'object' && body !== null ? Number((body as Record<string, unknown>).n) : NaN;
  return Number.isInteger(n) && n > 0 ? n : 1;
}
