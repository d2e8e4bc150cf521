import { z } from 'zod';
import type { Usage } from '../proxy/usage.js';

const usd = z.number().nonnegative().finite();

/** Prices per million tokens of each kind, in US dollars. */
const tokenPrices = {
  inputPerMillion: usd.optional(),
  cachedInputPerMillion: usd.optional(),
  cacheWritePerMillion: usd.optional(),
  cacheWrite1hPerMillion: usd.optional(),
  outputPerMillion: usd.optional(),
  imageInputPerMillion: usd.optional(),
  audioInputPerMillion: usd.optional(),
};
type TokenPriceField = keyof typeof tokenPrices;
const TOKEN_PRICE_FIELDS = Object.keys(tokenPrices) as TokenPriceField[];

const tierSchema = z
  .strictObject({ aboveInputTokens: z.number().int().nonnegative(), ...tokenPrices })
  .refine((t) => TOKEN_PRICE_FIELDS.some((f) => t[f] !== undefined), 'give at least one price for the tier');

/**
 * A model's prices in US dollars, as a catalog entry or an upstream pool states them: per million tokens,
 * per image returned, or per minute of audio. Fields left out cost nothing, except the prices of kinds of
 * input tokens (cached, cache writes, images, audio), which default to `inputPerMillion`, and
 * `cacheWrite1hPerMillion`, which defaults to `cacheWritePerMillion`. A tier replaces the prices it names for
 * a request of more than `aboveInputTokens` input tokens (all of its tokens, as OpenAI and Anthropic bill).
 */
export const pricingSchema = z
  .strictObject({
    ...tokenPrices,
    perImage: usd.optional(),
    perAudioMinute: usd.optional(),
    tiers: z.array(tierSchema).optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one price')
  .refine(
    (p) => p.perImage === undefined || TOKEN_PRICE_FIELDS.every((f) => p[f] === undefined),
    'give either token prices or "perImage", not both: an image is billed one way',
  )
  .refine((p) => new Set(p.tiers?.map((t) => t.aboveInputTokens)).size === (p.tiers?.length ?? 0), 'give each tier its own "aboveInputTokens"');

export type Pricing = z.infer<typeof pricingSchema>;
export type PricingTier = NonNullable<Pricing['tiers']>[number];

/** One micro-dollar is a millionth of a dollar: every amount the gateway adds up is a whole number of them. */
export const MICROS_PER_USD = 1_000_000;

/**
 * Prices in micro-dollars per million tokens (per image and per minute of audio: micro-dollars), so that a
 * price such as $0.075 per million is the whole number 75,000 and a request's cost is worked out in integers.
 */
export interface MicroRates {
  readonly input: number;
  readonly cachedInput: number;
  readonly cacheWrite: number;
  readonly cacheWrite1h: number;
  readonly output: number;
  readonly imageInput: number;
  readonly audioInput: number;
  readonly perImage: number;
  readonly perAudioMinute: number;
}

export interface MicroPricing extends MicroRates {
  /** Rates for requests of more than `aboveInputTokens` input tokens, in increasing order of it. */
  readonly tiers: readonly MicroTier[];
}

export interface MicroTier extends MicroRates {
  readonly aboveInputTokens: number;
}

const micros = (usd: number | undefined): number => Math.round((usd ?? 0) * MICROS_PER_USD);

function toMicroRates(p: Omit<Pricing, 'tiers'>): MicroRates {
  const input = p.inputPerMillion;
  const cacheWrite = p.cacheWritePerMillion ?? input;
  return {
    input: micros(input),
    cachedInput: micros(p.cachedInputPerMillion ?? input),
    cacheWrite: micros(cacheWrite),
    cacheWrite1h: micros(p.cacheWrite1hPerMillion ?? cacheWrite),
    output: micros(p.outputPerMillion),
    imageInput: micros(p.imageInputPerMillion ?? input),
    audioInput: micros(p.audioInputPerMillion ?? input),
    perImage: micros(p.perImage),
    perAudioMinute: micros(p.perAudioMinute),
  };
}

/** Converts dollars to whole micro-dollars, once, when a price list is built. */
export function toMicroPricing(pricing: Pricing): MicroPricing {
  const { tiers = [], ...base } = pricing;
  return {
    ...toMicroRates(base),
    // A tier names only the prices that change; the defaults are then taken within the tier.
    tiers: [...tiers]
      .sort((a, b) => a.aboveInputTokens - b.aboveInputTokens)
      .map(({ aboveInputTokens, ...tier }) => ({ aboveInputTokens, ...toMicroRates({ ...base, ...definedOnly(tier) }) })),
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The rates in force for a request of `inputTokens` input tokens. */
export function ratesFor(price: MicroPricing, inputTokens: number): MicroRates {
  let rates: MicroRates = price;
  for (const tier of price.tiers) if (inputTokens > tier.aboveInputTokens) rates = tier;
  return rates;
}

export interface RequestCost {
  /** What the request cost, in micro-dollars. */
  readonly micros: number;
  /** What its cached input tokens would have cost at the input price, less what they cost, in micro-dollars. */
  readonly savedMicros: number;
}

export const NO_COST: RequestCost = Object.freeze({ micros: 0, savedMicros: 0 });

/**
 * The cost of one request from the usage the upstream reported, at the rates of its tier: cached input
 * tokens at the cached price, cache writes at the cache-write prices, image and audio input tokens at theirs,
 * the rest of the input at the input price, output tokens (reasoning tokens are among them) at the output
 * price, each image returned at `perImage` and audio by the minute. The sum is taken exactly in integers and
 * rounded once, to the nearest micro-dollar.
 */
export function requestCost(usage: Usage, price: MicroPricing, images = 0): RequestCost {
  const rates = ratesFor(price, usage.prompt);
  let left = usage.prompt;
  const take = (tokens: number | undefined): number => {
    const taken = Math.min(tokens ?? 0, left);
    left -= taken;
    return taken;
  };
  const cached = take(usage.cached);
  const written = take(usage.cacheWrite);
  const written1h = Math.min(usage.cacheWrite1h ?? 0, written);
  const image = take(usage.imageInput);
  const audio = take(usage.audioInput);
  const perMillion =
    left * rates.input +
    cached * rates.cachedInput +
    (written - written1h) * rates.cacheWrite +
    written1h * rates.cacheWrite1h +
    image * rates.imageInput +
    audio * rates.audioInput +
    usage.completion * rates.output +
    // Micro-dollars per minute are a million times as many per million minutes: one rounding for it all.
    ((usage.seconds ?? 0) * rates.perAudioMinute * MICROS_PER_USD) / 60;
  const savedMicros = Math.max(0, roundMillionths(cached * (rates.input - rates.cachedInput)));
  return { micros: roundMillionths(perMillion) + images * rates.perImage, savedMicros };
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
