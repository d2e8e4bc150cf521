import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { KeyRegistry } from '../../src/keys/registry.js';
import { newKeyId, newSecret } from '../../src/keys/secret.js';
import type { StoredKey } from '../../src/store/records.js';
import { Store } from '../../src/store/store.js';

const log = pino({ level: 'silent' });
const config = parseConfig(
  {
    clientKeys: [{ name: 'cfg', key: 'config-secret-value', team: 'web' }],
    teams: [{ name: 'web', models: ['gpt-4o', 'gpt-4o-mini'], limits: { requestsPerMinute: 30, usdPerDay: 5 } }],
    upstreams: [{ name: 'u', baseUrl: 'http://127.0.0.1:1', accounts: [{ name: 'a', apiKey: 'k' }] }],
  },
  {},
  'test',
);

function stored(name: string, overrides: Partial<StoredKey> = {}): { key: StoredKey; secret: string } {
  const secret = newSecret();
  const at = new Date().toISOString();
  return {
    secret: secret.key,
    key: { id: newKeyId(), name, team: null, models: null, limits: null, expiresAt: null, metadata: null, createdAt: at, updatedAt: at, keyHint: secret.hint, revokedAt: null, source: 'api', keySha256: secret.sha256, previousSha256: null, previousUntil: null, ...overrides },
  };
}

function registryWith(keys: StoredKey[]): KeyRegistry {
  const registry = new KeyRegistry(new Store(undefined, log), log, () => {}, () => config);
  registry.keys = keys;
  return registry;
}

describe('the keyring built from config and API keys', () => {
  it('finds every one of 10,000 API keys, and the config key beside them', () => {
    const made = Array.from({ length: 10_000 }, (_, i) => stored(`k${i}`));
    const ring = registryWith(made.map((m) => m.key)).keyringFor(config);
    expect(ring.size).toBe(10_001);
    for (const [i, m] of made.entries()) expect(ring.find(m.secret)?.name).toBe(`k${i}`);
    expect(ring.find('config-secret-value')?.name).toBe('cfg');
    expect(ring.find(`${made[0]!.secret}x`)).toBeUndefined();
  });

  it('leaves revoked keys out, and takes a rotated key\'s old secret only until its grace ends', () => {
    const revoked = stored('gone', { revokedAt: new Date().toISOString() });
    const old = newSecret();
    const graced = stored('rotated', { previousSha256: old.sha256, previousUntil: new Date(Date.now() + 60_000).toISOString() });
    const over = newSecret();
    const ended = stored('rotated-long-ago', { previousSha256: over.sha256, previousUntil: new Date(Date.now() - 1).toISOString() });
    const ring = registryWith([revoked.key, graced.key, ended.key]).keyringFor(config);
    expect(ring.find(revoked.secret)).toBeUndefined();
    expect(ring.find(old.key)?.name).toBe('rotated');
    expect(ring.find(graced.secret)?.name).toBe('rotated');
    expect(ring.find(over.key)).toBeUndefined();
    expect(ring.all().map((c) => c.name)).toEqual(['cfg', 'rotated', 'rotated-long-ago']);
  });

  it('intersects a key\'s models with its team\'s, for config and API keys', () => {
    const api = stored('api', { team: 'web', models: ['gpt-4o-mini', 'gpt-5'] });
    const ring = registryWith([api.key]).keyringFor(config);
    expect([...ring.find(api.secret)!.allowedModels!]).toEqual(['gpt-4o-mini']);
    expect([...ring.find('config-secret-value')!.allowedModels!]).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(ring.find(api.secret)!.team).toBe('web');
  });

  it("gives config and API keys their team's limits, from the config's teams and the store's", () => {
    const web = stored('web-key', { team: 'web', limits: { requestsPerMinute: 100 } });
    const api = stored('api-team-key', { team: 'ops' });
    const registry = registryWith([web.key, api.key]);
    registry.teams = [{ name: 'ops', models: null, limits: { tokensPerMinute: 500 }, metadata: null, createdAt: null, updatedAt: null, source: 'api' }];
    const ring = registry.keyringFor(config);
    expect(ring.find('config-secret-value')!.teamLimits).toEqual({ requestsPerMinute: 30, usdPerDay: 5 });
    expect(ring.find(web.secret)!.teamLimits).toEqual({ requestsPerMinute: 30, usdPerDay: 5 });
    expect(ring.find(web.secret)!.config.limits).toEqual({ requestsPerMinute: 100 });
    expect(ring.find(api.secret)!.teamLimits).toEqual({ tokensPerMinute: 500 });
    expect(registryWith([stored('loner').key]).keyringFor(config).all().find((c) => c.name === 'loner')!.teamLimits).toBeUndefined();
  });

  it('refuses a config that takes an API key\'s or team\'s name', () => {
    const registry = registryWith([stored('cfg').key]);
    expect(() => registry.checkConfig(config)).toThrow('clientKeys: "cfg" is the name of a key issued through the admin API');
    const teams = registryWith([]);
    teams.teams = [{ name: 'web', models: null, limits: null, metadata: null, createdAt: null, updatedAt: null, source: 'api' }];
    expect(() => teams.checkConfig(config)).toThrow('teams: "web"');
  });
});
