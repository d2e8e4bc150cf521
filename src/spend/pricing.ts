import { z } from 'zod';
import type { Usage } from '../proxy/usage.js';

const usd = z.number().nonnegative().finite();

/**
 * A model's prices in US dollars, as a catalog entry or an upstream pool states them: per million tokens,
 * or per image returned. Fields left out cost nothing, except `cachedInputPerMillion`, which defaults to
 * `inputPerMillion`.
 */
export const pricingSchema = z
  .strictObject({
    inputPerMillion: usd.optional(),
    cachedInputPerMillion: usd.optional(),
    outputPerMillion: usd.optional(),
    perImage: usd.optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one price')
  .refine(
    (p) => p.perImage === undefined || (p.inputPerMillion === undefined && p.cachedInputPerMillion === undefined && p.outputPerMillion === undefined),
    'give either token prices or "perImage", not both: an image is billed one way',
  );

export type Pricing = z.infer<typeof pricingSchema>;

/** One micro-dollar is a millionth of a dollar: every amount the gateway adds up is a whole number of them. */
export const MICROS_PER_USD = 1_000_000;

/**
 * A price in micro-dollars per million tokens (per image: micro-dollars), so that a price such as $0.075
 * per million is the whole number 75,000 and a request's cost is worked out in integers.
 */
export interface MicroPricing {
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
  readonly perImage: number;
}

export function toMicroPricing(pricing: Pricing): MicroPricing {
  const micros = (usd: number | undefined): number => Math.round((usd ?? 0) * MICROS_PER_USD);
  return {
    input: micros(pricing.inputPerMillion),
    cachedInput: micros(pricing.cachedInputPerMillion ?? pricing.inputPerMillion),
    output: micros(pricing.outputPerMillion),
    perImage: micros(pricing.perImage),
  };
}

export interface RequestCost {
  /** What the request cost, in micro-dollars. */
  readonly micros: number;
  /** What its cached input tokens would have cost at the input price, less what they cost, in micro-dollars. */
  readonly savedMicros: number;
}

export const NO_COST: RequestCost = Object.freeze({ micros: 0, savedMicros: 0 });

/**
 * The cost of one request from the usage the upstream reported: cached input tokens at the cached price,
 * the rest of the input at the input price, output tokens (reasoning tokens are among them) at the output
 * price, and each image returned at `perImage`. The sum is taken exactly in integers and rounded once, to the
 * nearest micro-dollar.
 */
export function requestCost(usage: Usage, price: MicroPricing, images = 0): RequestCost {
  const cached = Math.min(usage.cached, usage.prompt);
  const tokenMicros = (usage.prompt - cached) * price.input + cached * price.cachedInput + usage.completion * price.output;
  const savedMicros = Math.max(0, roundMillionths(cached * (price.input - price.cachedInput)));
  return { micros: roundMillionths(tokenMicros) + images * price.perImage, savedMicros };
}

/** `value` / 1,000,000, rounded half up: prices are per million tokens. */
const roundMillionths = (value: number): number => Math.floor((value + 500_000) / 1_000_000);

/** Micro-dollars as dollars, for JSON: the nearest double prints as the exact decimal. */
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD;

/** Micro-dollars as a plain decimal string without trailing zeros (never exponent notation), for a header. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const fraction = String(abs % MICROS_PER_USD).padStart(6, '0').replace(/0+$/, '');
  return `${sign}${Math.floor(abs / MICROS_PER_USD)}${fraction === '' ? '' : `.${fraction}`}`;
}
