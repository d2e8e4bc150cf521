import type { Catalog } from '../catalog/catalog.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { UpstreamRouter } from '../accounts/pool.js';
import { databasePrice } from './price-database.js';
import { toMicroPricing, type MicroPricing, type Pricing } from './pricing.js';

/** Where a model's price comes from: the config (a catalog entry or an upstream pool), the price database, or nowhere. */
export type PriceSource = 'config' | 'price-database' | 'none';

/** A model's price in force, and where it comes from. */
export interface PriceEntry {
  readonly model: string;
  /** The pool that serves the model, whose price it is; undefined when no pool serves it. */
  readonly pool: string | undefined;
  readonly source: PriceSource;
  /** For the price database: the provider and model it priced the model as (`openai/gpt-5`, say). */
  readonly matched?: string;
  readonly pricing: MicroPricing | undefined;
}

interface ModelPrice {
  readonly pricing: MicroPricing;
  readonly source: 'config' | 'price-database';
  readonly matched?: string;
}

/**
 * What each model costs at each upstream pool: the pool's own price for the model (`upstreams[].pricing`)
 * when it names one, else the catalog's (`models[].pricing`), else the price database's for the provider the
 * model is owned by. Built from a config and replaced whole with it on a reload; the dollars are turned into
 * whole micro-dollars here, once.
 */
export class PriceList {
  private readonly byPool = new Map<string, Map<string, MicroPricing>>();
  private readonly byModel = new Map<string, ModelPrice>();

  constructor(
    private readonly catalog: Catalog,
    private readonly router: UpstreamRouter,
    upstreams: readonly UpstreamConfig[],
  ) {
    for (const model of catalog.all()) {
      if (model.pricing !== undefined) {
        this.byModel.set(model.id, { pricing: toMicroPricing(model.pricing), source: 'config' });
        continue;
      }
      const found = databasePrice(model.id, model.ownedBy);
      if (found !== null) this.byModel.set(model.id, { pricing: toMicroPricing(found.pricing), source: 'price-database', matched: found.matched });
    }
    for (const upstream of upstreams) {
      const overrides = Object.entries(upstream.pricing ?? {}) as [string, Pricing][];
      this.byPool.set(upstream.name, new Map(overrides.map(([model, pricing]) => [model, toMicroPricing(pricing)])));
    }
  }

  /** The price of `model` served through the pool named `pool`, or undefined when it has none. */
  priceOf(model: string, pool: string): MicroPricing | undefined {
    return this.byPool.get(pool)?.get(model) ?? this.byModel.get(model)?.pricing;
  }

  /** Every catalog model's price in force, at the pool that serves it, and where that price comes from. */
  entries(): PriceEntry[] {
    const entries: PriceEntry[] = [];
    for (const { id } of this.catalog.all()) {
      const pool = this.router.poolFor(id)?.name;
      const own = pool === undefined ? undefined : this.byPool.get(pool)?.get(id);
      const price: ModelPrice | undefined = own !== undefined ? { pricing: own, source: 'config' } : this.byModel.get(id);
      entries.push({ model: id, pool, source: price?.source ?? 'none', pricing: price?.pricing, ...(price?.matched !== undefined ? { matched: price.matched } : {}) });
    }
    return entries;
  }

  /** The price of the catalog model a request names, at the pool that serves it; undefined when it has none (or is unknown). */
  priceFor(model: unknown): MicroPricing | undefined {
    if (typeof model !== 'string') return undefined;
    const entry = this.catalog.get(model);
    const pool = entry === undefined ? undefined : this.router.poolFor(entry.id);
    return pool === undefined ? undefined : this.priceOf(entry!.id, pool.name);
  }

  /** Catalog models that clients can use (some pool serves them) and that have no price there. */
  unpriced(): string[] {
    return this.entries()
      .filter((e) => e.pool !== undefined && e.source === 'none')
      .map((e) => e.model);
  }
}
