import { describe, expect, it } from 'vitest';
import { ConfigError, expandEnv, loadConfigFile, parseConfig } from '../../src/config/load.js';

const minimal = {
  clientKeys: [{ name: 'web', key: 'k1' }],
  upstreams: [{ name: 'up', baseUrl: 'https://example.test/v1', accounts: [{ name: 'a', apiKey: 'sk-a' }] }],
};

describe('config loading', () => {
  it('expands ${VAR} and ${VAR:-default} from the environment', () => {
    expect(expandEnv({ a: '${X}', b: ['pre-${Y:-fallback}-post'], c: 3 }, { X: 'one' })).toEqual({ a: 'one', b: ['pre-fallback-post'], c: 3 });
    expect(expandEnv('${Y:-fallback}', { Y: 'set' })).toBe('set');
    expect(expandEnv('${MISSING}', {})).toBe('');
  });

  it('fills defaults for everything the issue names', () => {
    const config = parseConfig(minimal, {});
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.allowUnauthenticated).toBe(false);
    expect(config.bodyLimitBytes).toBe(25 * 1024 * 1024);
    expect(config.timeouts.upstreamMs).toBe(600_000);
    expect(config.upstreams[0]!.accounts[0]!.weight).toBe(1);
    expect(config.upstreams[0]!.models).toEqual(['*']);
  });

  it('lets PORT override listen.port and REDIS_URL supply redis.url', () => {
    const config = parseConfig(minimal, { PORT: '9123', REDIS_URL: 'redis://127.0.0.1:6390' });
    expect(config.listen.port).toBe(9123);
    expect(config.redis).toEqual(expect.objectContaining({ url: 'redis://127.0.0.1:6390' }));
  });

  it('names the bad field when the config is invalid', () => {
    const bad = { ...minimal, upstreams: [{ name: 'up', baseUrl: 'not a url', accounts: [{ name: 'a', apiKey: 'sk', weight: -1 }] }] };
    expect(() => parseConfig(bad, {})).toThrowError(ConfigError);
    expect(() => parseConfig(bad, {})).toThrowError(/upstreams\.0\.baseUrl/);
    expect(() => parseConfig(bad, {})).toThrowError(/upstreams\.0\.accounts\.0\.weight/);
  });

  it('says which key is empty when its environment variable is unset', () => {
    const config = { ...minimal, clientKeys: [{ name: 'web', key: '${TEAM_WEB_KEY}' }] };
    expect(() => parseConfig(config, {})).toThrowError(/clientKeys\.0\.key: .*environment variable/);
  });

  it('refuses to serve without client keys unless allowUnauthenticated is true', () => {
    expect(() => parseConfig({ ...minimal, clientKeys: [] }, {})).toThrowError(/clientKeys: no client keys/);
    expect(parseConfig({ ...minimal, clientKeys: [], allowUnauthenticated: true }, {}).clientKeys).toEqual([]);
  });

  it('rejects unknown fields, so a typo is not silently ignored', () => {
    expect(() => parseConfig({ ...minimal, timeouts: { upstreamMS: 5 } }, {})).toThrowError(/timeouts/);
  });

  it('rejects duplicate account names', () => {
    const dup = { ...minimal, upstreams: [{ name: 'up', baseUrl: 'https://x.test/v1', accounts: [{ name: 'a', apiKey: '1' }, { name: 'a', apiKey: '2' }] }] };
    expect(() => parseConfig(dup, {})).toThrowError(/duplicate name "a"/);
  });

  it('loads the shipped config/gateway.yaml from the environment', () => {
    const config = loadConfigFile('config/gateway.yaml', { GATEWAY_API_KEY: 'client-secret', UPSTREAM_API_KEY: 'sk-up' });
    expect(config.clientKeys).toEqual([expect.objectContaining({ key: 'client-secret' })]);
    expect(config.upstreams[0]!.baseUrl).toBe('https://gateway.theturbo.ai/v1');
    expect(config.upstreams[0]!.accounts[0]!.apiKey).toBe('sk-up');
    const custom = loadConfigFile('config/gateway.yaml', { GATEWAY_API_KEY: 'c', UPSTREAM_API_KEY: 'u', UPSTREAM_BASE_URL: 'http://127.0.0.1:9999/v1' });
    expect(custom.upstreams[0]!.baseUrl).toBe('http://127.0.0.1:9999/v1');
  });

  it('says so when the file is missing or not YAML', () => {
    expect(() => loadConfigFile('config/does-not-exist.yaml', {})).toThrowError(/cannot read config file/);
  });
});
