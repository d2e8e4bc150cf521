import type { FastifyBaseLogger } from 'fastify';
import { ClientKeyring, configTeams, teamFields, type KeyringEntry } from '../auth/client-keys.js';
import type { GatewayConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { StoredKey, TeamRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * How often each instance asks the store whether keys or teams changed: one single-row read, so a change
 * made through any instance is in force on all of them within about this long (the bound is 2 s).
 */
export const SYNC_INTERVAL_MS = 500;

/**
 * The API keys and teams of the store, held in memory: requests are checked against the keyring built from
 * them and the config, never against the database. A version counter that every write bumps tells when to
 * reload; while the store is down the last copy stays in force.
 */
export class KeyRegistry {
  keys: readonly StoredKey[] = [];
  teams: readonly TeamRecord[] = [];
  private version = -1;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
    /** Called with the keyring to put in force: config keys and API keys together. */
    private readonly apply: (keyring: ClientKeyring) => void,
    private readonly config: () => GatewayConfig,
  ) {}

  start(): void {
    this.store.onReady(() => {
      void this.sync();
      this.timer ??= setInterval(() => void this.sync(), SYNC_INTERVAL_MS);
      this.timer.unref();
    });
  }

  /** Reloads keys and teams when the store's version moved (or always, after a write made here). */
  sync(force = false): Promise<void> {
    // One read at a time: a poll while one runs joins it; a forced sync (after a write here) reads again after it.
    const run = async (): Promise<void> => {
      const loaded = await this.store
        .use(async (repos) => {
          const version = await repos.keys.version();
          if (!force && version === this.version) return undefined;
          const [keys, teams] = await Promise.all([repos.keys.all(), repos.teams.all()]);
          return { version, keys, teams };
        })
        .catch((err: unknown) => {
          this.log.debug({ err: (err as Error).message }, 'key sync failed; the keys in memory stay in force');
          return undefined;
        });
      if (loaded === undefined) return;
      this.version = loaded.version;
      this.keys = loaded.keys;
      this.teams = loaded.teams;
      this.apply(this.keyringFor(this.config()));
    };
    if (this.syncing !== undefined && !force) return this.syncing;
    const next = (this.syncing ?? Promise.resolve()).then(run);
    this.syncing = next;
    void next.finally(() => {
      if (this.syncing === next) this.syncing = undefined;
    });
    return next;
  }

  /** Config keys and the store's live API keys, each with its team's allow-list applied. */
  keyringFor(config: GatewayConfig): ClientKeyring {
    const teams = configTeams(config);
    for (const team of this.teams) teams.set(team.name, { models: team.models ?? undefined, limits: team.limits ?? undefined });
    const taken = new Set(config.clientKeys.map((k) => k.name));
    const entries: KeyringEntry[] = [];
    for (const key of this.keys) {
      if (key.revokedAt !== null || taken.has(key.name)) continue;
      const client = {
        name: key.name,
        config: { name: key.name, ...(key.models !== null ? { models: key.models } : {}), ...(key.limits !== null ? { limits: key.limits } : {}) },
        ...teamFields(key.models ?? undefined, key.team ?? undefined, teams),
        ...(key.expiresAt !== null ? { expiresAt: Date.parse(key.expiresAt) } : {}),
      };
      entries.push({ sha256: key.keySha256, client });
      if (key.previousSha256 !== null && key.previousUntil !== null) {
        entries.push({ sha256: key.previousSha256, client, validUntil: Date.parse(key.previousUntil) });
      }
    }
    return new ClientKeyring(config.clientKeys, teams, entries);
  }

  /** Refuses a config that names a key or team the store already holds (a reload must not shadow one). */
  checkConfig(config: GatewayConfig): void {
    const apiKeys = new Set(this.keys.map((k) => k.name));
    const clash = config.clientKeys.find((k) => apiKeys.has(k.name));
    if (clash !== undefined) throw new ConfigError(`clientKeys: "${clash.name}" is the name of a key issued through the admin API; rename one of them`);
    const apiTeams = new Set(this.teams.map((t) => t.name));
    const team = config.teams.find((t) => apiTeams.has(t.name));
    if (team !== undefined) throw new ConfigError(`teams: "${team.name}" is the name of a team made through the admin API; rename one of them`);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
