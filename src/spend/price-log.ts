import type { FastifyBaseLogger } from 'fastify';
import { priceDatabaseInfo } from './price-database.js';
import type { PriceList, PriceSource } from './price-list.js';

/** Each model a pool serves, and where its price comes from. */
function sources(prices: PriceList): Record<string, PriceSource> {
  return Object.fromEntries(prices.entries().flatMap((e) => (e.pool === undefined ? [] : [[e.model, e.source]])));
}

/**
 * Logs where each model's price comes from (config, the price database with its data date, or none), then
 * warns about the models no source prices, which are counted at $0. On a reload, `before` is the price list
 * being replaced: the lines are written again only when what they say changed.
 */
export function logPriceSources(log: FastifyBaseLogger, prices: PriceList, before?: PriceList): void {
  const priceSources = sources(prices);
  if (before === undefined || JSON.stringify(sources(before)) !== JSON.stringify(priceSources)) {
    const counts = { config: 0, 'price-database': 0, none: 0 };
    for (const source of Object.values(priceSources)) counts[source]++;
    const database = priceDatabaseInfo();
    const dated = database.dataDate === undefined ? '' : `, data of ${database.dataDate}`;
    log.info(
      { priceSources, priceDatabase: database },
      `model prices: ${counts.config} from config, ${counts['price-database']} from the price database (${database.package} ${database.version}${dated}), ${counts.none} unpriced`,
    );
  }
  const models = prices.unpriced();
  if (models.length > 0 && (before === undefined || before.unpriced().join() !== models.join())) {
    log.warn({ models }, `${models.length} models have no price and are counted at $0: ${models.join(', ')} (give them "pricing")`);
  }
}
