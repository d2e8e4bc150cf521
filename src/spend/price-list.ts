import type { Catalog } from '../catalog/catalog.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { UpstreamRouter } from '../routing/pool.js';
import { toMicroPricing, type MicroPricing, type Pricing } from './pricing.js';

/**
 * What each model costs at each upstream pool: the pool's own price for the model (`upstreams[].pricing`)
 * when it names one, else the catalog's. Built from a config and replaced whole with it on a reload.
 */
export class PriceList {
  private readonly byPool = new Map<string, Map<string, MicroPricing>>();
  private readonly byModel = new Map<string, MicroPricing>();

  constructor(
    private readonly catalog: Catalog,
    private readonly router: UpstreamRouter,
    upstreams: readonly UpstreamConfig[],
  ) {
    for (const model of catalog.all()) {
      if (model.pricing !== undefined) this.byModel.set(model.id, toMicroPricing(model.pricing));
    }
    for (const upstream of upstreams) {
      const overrides = Object.entries(upstream.pricing ?? {}) as [string, Pricing][];
      this.byPool.set(upstream.name, new Map(overrides.map(([model, pricing]) => [model, toMicroPricing(pricing)])));
    }
  }

  /** The price of `model` served through the pool named `pool`, or undefined when it has none. */
  priceOf(model: string, pool: string): MicroPricing | undefined {
    return this.byPool.get(pool)?.get(model) ?? this.byModel.get(model);
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
    const unpriced: string[] = [];
    for (const model of this.catalog.all()) {
      const pool = this.router.poolFor(model.id);
      if (pool !== undefined && this.priceOf(model.id, pool.name) === undefined) unpriced.push(model.id);
    }
    return unpriced;
  }
}
