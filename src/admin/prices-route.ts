import type { FastifyPluginAsync } from 'fastify';
import { priceDatabaseInfo } from '../spend/price-database.js';
import type { PriceEntry } from '../spend/price-list.js';
import { microsToUsd, type MicroRates } from '../spend/pricing.js';

/** Rates in the config's words and dollars: every price in force, defaults filled in. */
function ratesInUsd(rates: MicroRates): Record<string, number> {
  return {
    inputPerMillion: microsToUsd(rates.input),
    cachedInputPerMillion: microsToUsd(rates.cachedInput),
    cacheWritePerMillion: microsToUsd(rates.cacheWrite),
    cacheWrite1hPerMillion: microsToUsd(rates.cacheWrite1h),
    outputPerMillion: microsToUsd(rates.output),
    imageInputPerMillion: microsToUsd(rates.imageInput),
    audioInputPerMillion: microsToUsd(rates.audioInput),
    perImage: microsToUsd(rates.perImage),
    perAudioMinute: microsToUsd(rates.perAudioMinute),
  };
}

function row(entry: PriceEntry, dataDate: string | undefined) {
  const { pricing } = entry;
  return {
    model: entry.model,
    pool: entry.pool ?? null,
    source: entry.source,
    ...(entry.source === 'price-database' ? { matched: entry.matched, ...(dataDate !== undefined ? { dataDate } : {}) } : {}),
    pricing:
      pricing === undefined
        ? null
        : { ...ratesInUsd(pricing), tiers: pricing.tiers.map((t) => ({ aboveInputTokens: t.aboveInputTokens, ...ratesInUsd(t) })) },
  };
}

/**
 * `GET /admin/prices`: every catalog model's prices in force, at the pool that serves it, and where they
 * come from (`config`, `price-database` or `none`).
 */
export const adminPricesRoute: FastifyPluginAsync = async (app) => {
  app.get('/admin/prices', async () => {
    const priceDatabase = priceDatabaseInfo();
    return { object: 'list', priceDatabase, data: app.services.spend.prices.entries().map((e) => row(e, priceDatabase.dataDate)) };
  });
};
