import type { GatewayConfig } from '../config/schema.js';
import type { KeyRecord, StoredKey, TeamRecord } from '../store/records.js';

/** Config keys' ids: their name behind a prefix no API key id has (those start with `key_`). */
export const CONFIG_KEY_ID_PREFIX = 'cfg_';

export type KeyStatus = 'active' | 'revoked' | 'expired';

export function keyStatus(key: KeyRecord, now: number): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

/** What the admin API shows of a key: never a secret or a hash of one. */
export function keyView(key: KeyRecord | StoredKey, now: number): KeyRecord & { status: KeyStatus } {
  return {
    id: key.id,
    name: key.name,
    team: key.team,
    models: key.models,
    limits: key.limits,
    expiresAt: key.expiresAt,
    metadata: key.metadata,
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    keyHint: key.keyHint,
    revokedAt: key.revokedAt,
    source: key.source,
    status: keyStatus(key, now),
  };
}

/** The config's keys, shown beside API keys (read-only); a plain config secret gives its hint, a hashed one none. */
export function configKeys(config: GatewayConfig): KeyRecord[] {
  return config.clientKeys.map((k) => ({
    id: `${CONFIG_KEY_ID_PREFIX}${k.name}`,
    name: k.name,
    team: k.team ?? null,
    models: k.models ?? null,
    limits: k.limits ?? null,
    expiresAt: null,
    metadata: null,
    createdAt: null,
    updatedAt: null,
    keyHint: k.key?.slice(-4) ?? null,
    revokedAt: null,
    source: 'config',
  }));
}

export function configTeamRecords(config: GatewayConfig): TeamRecord[] {
  return config.teams.map((t) => ({
    name: t.name,
    models: t.models ?? null,
    limits: t.limits ?? null,
    metadata: t.metadata ?? null,
    createdAt: null,
    updatedAt: null,
    source: 'config',
  }));
}
