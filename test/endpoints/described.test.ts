// Every endpoint the gateway describes as data is one the mock upstream serves: tests, the demo and the
// benchmarks run against the mock, so an endpoint it does not know would go untested.
import { describe, expect, it } from 'vitest';
import { API_ENDPOINTS, CATALOG_ENDPOINTS, ENDPOINT_PATHS, STORED_RESPONSE_ENDPOINTS } from '../../src/endpoints/index.js';
import { ENDPOINTS } from '../../src/metrics/gateway-metrics.js';
import { findRoute } from '../../src/mock/routes.js';

/** An upstream pool's base URL ends in `/v1`, as the mock's does. */
const upstream = (path: string): string => `/v1${path.replace(':id', 'resp_123')}`;

describe('the described endpoints', () => {
  it.each(API_ENDPOINTS.map((e) => [e.path, e] as const))('%s is served by the mock', (_path, endpoint) => {
    expect(findRoute('POST', upstream(endpoint.upstreamPath))).toBeDefined();
  });

  it.each(STORED_RESPONSE_ENDPOINTS.map((e) => [`${e.method} ${e.path}`, e] as const))('%s is served by the mock', (_name, endpoint) => {
    expect(findRoute(endpoint.method, upstream(endpoint.upstreamPath))).toBeDefined();
  });

  it('cannot pass for a path the mock does not know', () => {
    expect(findRoute('POST', '/v1/no/such/endpoint')).toBeUndefined();
    expect(findRoute('PATCH', upstream('/responses/:id'))).toBeUndefined();
  });

  it('are the endpoint label values of metrics, each path once', () => {
    const paths = [...API_ENDPOINTS, ...STORED_RESPONSE_ENDPOINTS, ...CATALOG_ENDPOINTS].map((e) => e.path);
    expect(new Set(ENDPOINT_PATHS)).toEqual(new Set(paths));
    expect(ENDPOINT_PATHS).toHaveLength(new Set(paths).size);
    expect(ENDPOINTS).toEqual(ENDPOINT_PATHS);
    expect(ENDPOINTS).toEqual(expect.arrayContaining(['/v1/responses/:id', '/v1/responses/:id/cancel', '/v1/responses/:id/input_items', '/v1/models/:id']));
  });
});
