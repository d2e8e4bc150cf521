import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import type { Pricing, PricingTier } from './pricing.js';

/**
 * Prices from `@pydantic/genai-prices`, a maintained database of LLM API prices, from the data bundled in the
 * package: it is read as installed (the package fetches nothing unless told to), so the prices change when
 * the package is upgraded.
 */
export const PRICE_DATABASE = '@pydantic/genai-prices';

/** The day each release's data was published; a test fails when the installed release is not listed here. */
export const DATA_DATES: Readonly<Record<string, string>> = { '0.1.8': '2026-09-23' };

const packageJson = join(dirname(createRequire(import.meta.url).resolve(PRICE_DATABASE)), '..', 'package.json');

/** The installed release of the database and the day of its data. */
export const priceDatabase: { readonly version: string; readonly dataDate: string | undefined } = (() => {
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { version, dataDate: DATA_DATES[version] };
})();

/** The price database as the start-up log and `/admin/prices` name it: the package, its release and the day of its data. */
export const priceDatabaseInfo = (): { package: string; version: string; dataDate?: string } => ({
  package: PRICE_DATABASE,
  version: priceDatabase.version,
  ...(priceDatabase.dataDate !== undefined ? { dataDate: priceDatabase.dataDate } : {}),
});

/** The database's keys that the gateway's usage counts, and the price fields they become. */
const TOKEN_FIELDS = {
  input_mtok: 'inputPerMillion',
  cache_read_mtok: 'cachedInputPerMillion',
  cache_write_mtok: 'cacheWritePerMillion',
  cache_write_1h_mtok: 'cacheWrite1hPerMillion',
  output_mtok: 'outputPerMillion',
  input_image_mtok: 'imageInputPerMillion',
  input_audio_mtok: 'audioInputPerMillion',
} as const;

type TieredValue = { base: number; tiers: { start: number; price: number }[] };
type Value = number | TieredValue | undefined;

const baseOf = (value: Value): number | undefined => (typeof value === 'object' ? value.base : value);

/** The value in force for a request of more than `above` input tokens. */
function valueAbove(value: Value, above: number): number | undefined {
  if (typeof value !== 'object') return value;
  let price = value.base;
  let from = -1;
  for (const tier of value.tiers) {
    if (tier.start <= above && tier.start > from) [price, from] = [tier.price, tier.start];
  }
  return price;
}

/**
 * A model's database prices in the gateway's shape. The database states a tier per price key, applied to all
 * of a request's tokens once its input tokens pass the tier's start; the gateway's tiers are the same steps,
 * each with every price in force above it.
 */
export function fromDatabase(prices: ModelPrice): Pricing {
  const entries = Object.entries(TOKEN_FIELDS).map(([key, field]) => [field, prices[key] as Value] as const);
  const pricing: Pricing = {};
  for (const [field, value] of entries) {
    const base = baseOf(value);
    if (base !== undefined) pricing[field] = base;
  }
  const audioHours = (prices.input_audio_hours ?? prices.audio_hours) as Value;
  if (baseOf(audioHours) !== undefined) pricing.perAudioMinute = baseOf(audioHours)! / 60;
  const starts = new Set(entries.flatMap(([, value]) => (typeof value === 'object' ? value.tiers.map((t) => t.start) : [])));
  if (starts.size > 0) {
    pricing.tiers = [...starts]
      .sort((a, b) => a - b)
      .map((start) => {
        const tier: PricingTier = { aboveInputTokens: start };
        for (const [field, value] of entries) {
          const price = valueAbove(value, start);
          if (price !== undefined) tier[field] = price;
        }
        return tier;
      });
  }
  return pricing;
}

export interface DatabasePrice {
  readonly pricing: Pricing;
  /** The provider and model the database priced it as (`openai/gpt-5`, say). */
  readonly matched: string;
}

const found = new Map<string, DatabasePrice | null>();

/**
 * The database's price in force now for catalog model `model`, from the provider that `ownedBy` names
 * (`openai`, `anthropic`); null when that provider is not in the database or does not list the model.
 * Looked up once per model and provider: the data does not change while the process runs.
 */
export function databasePrice(model: string, ownedBy: string): DatabasePrice | null {
  const key = `${ownedBy}\u0000${model}`;
  let price = found.get(key);
  if (price === undefined) {
    price = lookUp(model, ownedBy);
    found.set(key, price);
  }
  return price;
}

function lookUp(model: string, ownedBy: string): DatabasePrice | null {
  let result;
  try {
    result = calcPrice({}, model, { providerId: ownedBy });
  } catch {
    // Data the package itself cannot read prices nothing.
    return null;
  }
  // The database finds a provider by a loose match on its name too: only the provider so named counts.
  if (result === null || result.provider.id !== ownedBy) return null;
  // A price that changes with the hour (off-peak rates) cannot be read once at start: the config must give it.
  if (Array.isArray(result.model.prices) && result.model.prices.some((p) => p.constraint?.type === 'time_of_date')) return null;
  return { pricing: fromDatabase(result.model_price), matched: `${result.provider.id}/${result.model.id}` };
}
