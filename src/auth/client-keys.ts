import { hash } from 'node:crypto';
import type { ClientKeyConfig, GatewayConfig, LimitsConfig } from '../config/schema.js';

export interface ClientKey {
  readonly name: string;
  /** undefined means every model in the catalog. */
  readonly allowedModels: ReadonlySet<string> | undefined;
  readonly config: ClientKeyConfig;
  /** The key's team, if it has one. */
  readonly team?: string;
  /** Its team's limits and budgets, shared by all the team's keys and checked beside the key's own. */
  readonly teamLimits?: LimitsConfig;
  /** Epoch ms from which the key answers 401 (an API key's `expiresAt`). */
  readonly expiresAt?: number;
}

/** The identity used when the gateway runs with `allowUnauthenticated: true` and no key is sent. */
export const ANONYMOUS: ClientKey = { name: 'anonymous', allowedModels: undefined, config: { name: 'anonymous' } };

/** One-shot: about half the cost of a Hash object, and it runs for every request's key. */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** A key added beside the config's (an API key from the store), known by the hex SHA-256 of its secret. */
export interface KeyringEntry {
  readonly sha256: string;
  readonly client: ClientKey;
  /** Epoch ms after which this secret no longer opens the key (the old secret of a rotation). */
  readonly validUntil?: number;
}

/** What a team imposes on its keys: the models it allows (undefined for every model) and its limits. */
export interface TeamRules {
  readonly models: readonly string[] | undefined;
  readonly limits: LimitsConfig | undefined;
}

export type TeamModels = ReadonlyMap<string, TeamRules>;

/** The fields of a key that its own model list and its team decide. */
export function teamFields(own: readonly string[] | undefined, team: string | undefined, teams: TeamModels): Pick<ClientKey, 'allowedModels' | 'team' | 'teamLimits'> {
  const rules = team === undefined ? undefined : teams.get(team);
  return {
    allowedModels: allowedModels(own, rules?.models),
    ...(team !== undefined ? { team } : {}),
    ...(rules?.limits !== undefined ? { teamLimits: rules.limits } : {}),
  };
}

/** A key's effective allow-list: its own list intersected with its team's. */
export function allowedModels(own: readonly string[] | undefined, team: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (own === undefined) return team === undefined ? undefined : new Set(team);
  return new Set(team === undefined ? own : own.filter((m) => team.includes(m)));
}

/**
 * Looks client keys up by the SHA-256 of the presented secret, in a map: one lookup whatever the number of
 * keys. The map is keyed by digests, so lookup timing can tell an attacker nothing short of a SHA-256 preimage.
 */
export class ClientKeyring {
  private readonly byDigest = new Map<string, Omit<KeyringEntry, 'sha256'>>();
  private readonly clients: ClientKey[] = [];
  private readonly teams = new Map<string, string>();

  constructor(configs: readonly ClientKeyConfig[], teams: TeamModels = new Map(), extra: readonly KeyringEntry[] = []) {
    for (const config of configs) {
      const client: ClientKey = { name: config.name, config, ...teamFields(config.models, config.team, teams) };
      this.clients.push(client);
      this.byDigest.set(config.keySha256 ?? sha256(config.key ?? '').toString('hex'), { client });
    }
    for (const entry of extra) {
      if (entry.validUntil === undefined) this.clients.push(entry.client);
      this.byDigest.set(entry.sha256, entry);
    }
    for (const client of this.clients) if (client.team !== undefined) this.teams.set(client.name, client.team);
  }

  get size(): number {
    return this.clients.length;
  }

  find(presented: string): ClientKey | undefined {
    const entry = this.byDigest.get(sha256(presented).toString('hex'));
    if (entry === undefined) return undefined;
    if (entry.validUntil !== undefined && Date.now() >= entry.validUntil) return undefined;
    return entry.client;
  }

  all(): ClientKey[] {
    return this.clients;
  }

  /** The team of the key with this name; empty when it has none (the `team` metric label). */
  teamOf(name: string): string {
    return this.teams.get(name) ?? '';
  }
}

export function mayUseModel(client: ClientKey, model: string): boolean {
  return client.allowedModels === undefined || client.allowedModels.has(model);
}

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined;
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}

/** The model lists and limits of the config's teams, by name. */
export function configTeams(config: GatewayConfig): Map<string, TeamRules> {
  return new Map(config.teams.map((team) => [team.name, { models: team.models, limits: team.limits }]));
}

/** Whether a key has passed its `expiresAt` (a key without one never expires). */
export function hasExpired(client: ClientKey, now: number): client is ClientKey & { readonly expiresAt: number } {
  return client.expiresAt !== undefined && now >= client.expiresAt;
}
