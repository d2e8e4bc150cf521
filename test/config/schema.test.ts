// The sticky, redis and limits config fields, their defaults, and REDIS_URL.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { testConfig } from '../helpers/gateway.js';

const base = (extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput => testConfig('http://127.0.0.1:9/v1', extra);
const REDIS_DEFAULTS = { timeoutMs: 500, breakerMs: 2_000, keyPrefix: 'gw:' };

describe('sticky and redis config', () => {
  it('pins for 24 hours and keeps at most 100000 pins in memory by default, without Redis', () => {
    const config = parseConfig(base(), {});
    expect(config.sticky).toEqual({ ttlSeconds: 86_400, maxEntries: 100_000, maxPinsPerKey: 100_000, pinReads: 'shared', sources: ['x-conversation-id', 'x-claude-code-session-id', 'metadata.user_id', 'prompt_cache_key', 'session_id'] });
    expect(config.redis).toBeUndefined();
  });

  it('takes REDIS_URL, with every default, when the file has no redis section', () => {
    expect(parseConfig(base(), { REDIS_URL: 'redis://cache:6379' }).redis).toEqual({ url: 'redis://cache:6379', ...REDIS_DEFAULTS });
    const fromFile = parseConfig(base({ redis: { url: 'redis://file:6379' } }), { REDIS_URL: 'redis://env:6379' });
    expect(fromFile.redis).toEqual({ url: 'redis://file:6379', ...REDIS_DEFAULTS });
  });

  it('accepts the shared settings on standalone, Cluster and Sentinel', () => {
    const shared = { timeoutMs: 20, breakerMs: 500, keyPrefix: 'prod:' };
    expect(parseConfig(base({ redis: { url: 'redis://r:6379', ...shared } }), {}).redis).toEqual({ url: 'redis://r:6379', ...shared });
    expect(parseConfig(base({ redis: { cluster: ['redis://n1:7000', 'redis://n2:7001'] } }), {}).redis).toEqual({
      cluster: ['redis://n1:7000', 'redis://n2:7001'],
      ...REDIS_DEFAULTS,
    });
    const sentinel = { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', ...shared };
    expect(parseConfig(base({ redis: sentinel }), {}).redis).toEqual(sentinel);
  });

  it('refuses unknown fields and non-positive values', () => {
    expect(() => parseConfig(base({ redis: { url: 'redis://r', timeoutMS: 10 } as never }), {})).toThrow(ConfigError);
    expect(() => parseConfig(base({ redis: { url: 'redis://r', timeoutMs: 0 } }), {})).toThrow(ConfigError);
    expect(() => parseConfig(base({ sticky: { ttlSeconds: 0 } }), {})).toThrow(/sticky\.ttlSeconds/);
  });
});

describe('limits', () => {
  it('holds at most 512 MiB of request bodies by default, beside the per-key limits', () => {
    const config = parseConfig(base({ clientKeys: [{ name: 'k', key: 'gw-key', limits: { requestsPerMinute: 5 } }] }), {});
    expect(config.limits).toEqual({ bufferedBodyBytes: 512 * 1024 * 1024, admission: 'exact', lease: { share: 0.1, flushMs: 1_000 } });
    expect(config.clientKeys[0]!.limits).toEqual({ requestsPerMinute: 5 });
    expect(parseConfig(base({ limits: { bufferedBodyBytes: 100 * 1024 * 1024 } }), {}).limits.bufferedBodyBytes).toBe(100 * 1024 * 1024);
  });

  it('admits exactly by default; leased admission takes a share of at most 1', () => {
    const leased = parseConfig(base({ limits: { admission: 'lease', lease: { share: 0.25 } } }), {}).limits;
    expect(leased).toMatchObject({ admission: 'lease', lease: { share: 0.25, flushMs: 1_000 } });
    expect(() => parseConfig(base({ limits: { admission: 'lease', lease: { share: 1.5 } } }), {})).toThrow(/limits\.lease\.share/);
    expect(() => parseConfig(base({ limits: { admission: 'sometimes' as 'exact' } }), {})).toThrow(/limits\.admission/);
  });

  it('refuses a cap below bodyLimitBytes, zero and unknown fields', () => {
    expect(() => parseConfig(base({ limits: { bufferedBodyBytes: 1024 } }), {})).toThrow(/limits\.bufferedBodyBytes.*bodyLimitBytes/);
    expect(parseConfig(base({ bodyLimitBytes: 1024, limits: { bufferedBodyBytes: 1024 } }), {}).limits.bufferedBodyBytes).toBe(1024);
    expect(() => parseConfig(base({ limits: { bufferedBodyBytes: 0 } }), {})).toThrow(/limits\.bufferedBodyBytes/);
    expect(() => parseConfig(base({ limits: { requestsPerMinute: 5 } as never }), {})).toThrow(ConfigError);
  });
});
