import type { AccountConfig, UpstreamConfig } from '../config/schema.js';

/** One upstream API key. Its secret lives only in `authorization`, which is sent upstream and nowhere else. */
export class Account {
  readonly name: string;
  readonly weight: number;
  readonly pool: UpstreamPool;
  /** The full `Authorization` header value, built once rather than per request. */
  readonly authorization: string;
  /** Epoch ms until which the account is resting after a failure; 0 when healthy. */
  coolingUntil = 0;
  /** Smooth weighted round-robin state. */
  current = 0;

  constructor(config: AccountConfig, pool: UpstreamPool) {
    this.name = config.name;
    this.weight = config.weight;
    this.pool = pool;
    this.authorization = `Bearer ${config.apiKey}`;
  }

  isHealthy(now: number): boolean {
    return this.coolingUntil <= now;
  }

  /** Keeps the secret out of logs and JSON, whatever serialises an account by mistake. */
  toJSON(): { name: string; pool: string } {
    return { name: this.name, pool: this.pool.name };
  }
}

/** The accounts of one upstream provider, and the choice among them. */
export class UpstreamPool {
  readonly name: string;
  readonly origin: string;
  /** Path of the base URL (such as `/v1`), prepended to each endpoint's path. */
  readonly basePath: string;
  readonly accounts: readonly Account[];
  private readonly models: ReadonlySet<string> | undefined;
  private readonly byName: Map<string, Account>;

  constructor(config: UpstreamConfig) {
    const url = new URL(config.baseUrl);
    this.name = config.name;
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.models = config.models.includes('*') ? undefined : new Set(config.models);
    this.accounts = config.accounts.map((a) => new Account(a, this));
    this.byName = new Map(this.accounts.map((a) => [a.name, a]));
  }

  serves(model: string): boolean {
    return this.models === undefined || this.models.has(model);
  }

  account(name: string): Account | undefined {
    return this.byName.get(name);
  }

  /**
   * Picks an account by weight with smooth weighted round-robin (nginx's algorithm): deterministic,
   * evenly interleaved, and exact over every window of sum(weights) picks. Cooling accounts and those in
   * `exclude` are skipped; when every candidate is cooling, the one that recovers first is returned.
   */
  pick(now: number, exclude?: ReadonlySet<Account>): Account | undefined {
    let best: Account | undefined;
    let total = 0;
    for (const account of this.accounts) {
      if (!account.isHealthy(now) || exclude?.has(account)) continue;
      account.current += account.weight;
      total += account.weight;
      if (best === undefined || account.current > best.current) best = account;
    }
    if (best !== undefined) {
      best.current -= total;
      return best;
    }
    return this.soonestRecovering(exclude);
  }

  /** The healthy accounts, for callers (such as hashing fallbacks) that choose by their own rule. */
  healthy(now: number): Account[] {
    return this.accounts.filter((a) => a.isHealthy(now));
  }

  private soonestRecovering(exclude?: ReadonlySet<Account>): Account | undefined {
    let soonest: Account | undefined;
    for (const account of this.accounts) {
      if (exclude?.has(account)) continue;
      if (soonest === undefined || account.coolingUntil < soonest.coolingUntil) soonest = account;
    }
    return soonest;
  }
}

/** Finds the pool that serves a model; the first pool listing it (or "*") wins. */
export class UpstreamRouter {
  readonly pools: readonly UpstreamPool[];
  private readonly poolByModel = new Map<string, UpstreamPool | null>();

  constructor(configs: readonly UpstreamConfig[]) {
    this.pools = configs.map((c) => new UpstreamPool(c));
  }

  poolFor(model: string): UpstreamPool | undefined {
    let pool = this.poolByModel.get(model);
    if (pool === undefined) {
      pool = this.pools.find((p) => p.serves(model)) ?? null;
      this.poolByModel.set(model, pool);
    }
    return pool ?? undefined;
  }

  /** Every upstream key, so an error body can be scrubbed of all of them. */
  secrets(): string[] {
    return this.pools.flatMap((p) => p.accounts.map((a) => a.authorization.slice('Bearer '.length)));
  }
}
