import type { UpstreamConfig } from '../../src/config/schema.js';
import { UpstreamPool } from '../../src/accounts/pool.js';

/** A pool named `mock` whose accounts are named and weighted as given (keys `sk-<name>`), for unit tests. */
export function poolWithWeights(weights: Record<string, number> = { a: 2, b: 1, c: 1 }): UpstreamPool {
  const config: UpstreamConfig = {
    name: 'mock',
    api: 'openai',
    baseUrl: 'http://127.0.0.1:1/v1',
    models: ['*'],
    accounts: Object.entries(weights).map(([name, weight]) => ({ name, apiKey: `sk-${name}`, weight })),
  };
  return new UpstreamPool(config);
}
