import type { AccountConfig, UpstreamConfig } from '../config/schema.js';
import type { FailureReason } from './failure-reason.js';
import { RecentActivity } from './recent-activity.js';

/** Shortest organization, project or header value of an account treated as a secret to mask in upstream bodies. */
const MIN_HEADER_SECRET = 8;

/**
 * One upstream API key. Its secrets live only in `apiKey` and `headers`, which are sent upstream and
 * nowhere else.
 */
export class Account {
  readonly name: string;
  readonly weight: number;
  readonly pool: UpstreamPool;
  /** The upstream key, sent as `Authorization: Bearer`, or as `x-api-key` to an Anthropic upstream. */
  readonly apiKey: string;
  /**
   * Every header this account adds to its upstream requests, built once: `authorization` (`x-api-key`), then
   * `openai-organization` and `openai-project`, then the configured `headers` (which may replace them).
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The headers this account adds besides its key (their values are masked in upstream bodies like the key). */
  readonly configuredHeaders: Readonly<Record<string, string>>;
  /** Epoch ms until which the account is resting after a failure; 0 when healthy. */
  coolingUntil = 0;
  /** Why the account last had to rest (shown on the console's Upstreams page). */
  coolingReason: FailureReason | undefined;
  /** Attempts sent to this account, and those that failed, over the last minutes. */
  readonly recent = new RecentActivity();
  /** Epoch ms until which one model is resting on this account (the upstream refused it, not the key). */
  readonly modelCoolingUntil = new Map<string, number>();
  /** Smooth weighted round-robin state. */
  current = 0;

  constructor(config: AccountConfig, pool: UpstreamPool) {
    this.name = config.name;
    this.weight = config.weight;
    this.pool = pool;
    this.apiKey = config.apiKey;
    const configured: Record<string, string> = {};
    if (config.organization !== undefined) configured['openai-organization'] = config.organization;
    if (config.project !== undefined) configured['openai-project'] = config.project;
    for (const [name, value] of Object.entries(config.headers ?? {})) configured[name.toLowerCase()] = value;
    this.configuredHeaders = Object.freeze(configured);
    const key: Record<string, string> = pool.api === 'anthropic' ? { 'x-api-key': config.apiKey } : { authorization: `Bearer ${config.apiKey}` };
    this.headers = Object.freeze({ ...key, ...configured });
  }

  /** Whether the account may take a request now, for `model` when one is given. */
  isHealthy(now: number, model?: string): boolean {
    return this.coolingUntil <= now && (model === undefined || this.modelHealthy(now, model));
  }

  /** Whether `model` is not resting on this account (whatever the account's own state). */
  modelHealthy(now: number, model: string): boolean {
    if (this.modelCoolingUntil.size === 0) return true;
    const until = this.modelCoolingUntil.get(model);
    if (until === undefined) return true;
    if (until > now) return false;
    this.modelCoolingUntil.delete(model);
    return true;
  }

  /** Rests one model on this account until `until` (epoch ms). */
  coolModel(model: string, until: number): void {
    this.modelCoolingUntil.set(model, Math.max(this.modelCoolingUntil.get(model) ?? 0, until));
  }

  /** When the account may next take a request for `model` (or any request, without one). */
  availableAt(model?: string): number {
    const modelUntil = model === undefined ? 0 : (this.modelCoolingUntil.get(model) ?? 0);
    return Math.max(this.coolingUntil, modelUntil);
  }

  /** Keeps the secret out of logs and JSON, whatever serialises an account by mistake. */
  toJSON(): { name: string; pool: string } {
    return { name: this.name, pool: this.pool.name };
  }
}

/** The accounts of one upstream provider, and the choice among them. */
export class UpstreamPool {
  readonly name: string;
  /** The API the upstream speaks, which decides how keys and headers go out. */
  readonly api: UpstreamConfig['api'];
  readonly origin: string;
  /** Path of the base URL (such as `/v1`), prepended to each endpoint's path. */
  readonly basePath: string;
  readonly accounts: readonly Account[];
  private readonly models: ReadonlySet<string> | undefined;
  private readonly byName: Map<string, Account>;

  constructor(config: UpstreamConfig) {
    const url = new URL(config.baseUrl);
    this.name = config.name;
    this.api = config.api;
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
   * `exclude` are skipped, and so are those on which `model` is resting; when every candidate is cooling, the
   * one that recovers first is returned.
   */
  pick(now: number, exclude?: ReadonlySet<Account>, model?: string): Account | undefined {
    let best: Account | undefined;
    let total = 0;
    for (const account of this.accounts) {
      if (!account.isHealthy(now, model) || exclude?.has(account)) continue;
      account.current += account.weight;
      total += account.weight;
      if (best === undefined || account.current > best.current) best = account;
    }
    if (best !== undefined) {
      best.current -= total;
      return best;
    }
    return this.soonestRecovering(exclude, model);
  }

  /** The healthy accounts, for callers (such as hashing fallbacks) that choose by their own rule. */
  healthy(now: number): Account[] {
    return this.accounts.filter((a) => a.isHealthy(now));
  }

  private soonestRecovering(exclude?: ReadonlySet<Account>, model?: string): Account | undefined {
    let soonest: Account | undefined;
    for (const account of this.accounts) {
      if (exclude?.has(account)) continue;
      if (soonest === undefined || account.availableAt(model) < soonest.availableAt(model)) soonest = account;
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

  /**
   * Every upstream key, and each account's organization, project and configured header values (an Azure
   * `api-key`, say), so an upstream body can be scrubbed of all of them. Values shorter than
   * {@link MIN_HEADER_SECRET} characters are left out: masking every "1" or "v2" would mangle bodies, and so
   * short a value is no secret.
   */
  secrets(): string[] {
    return this.pools.flatMap((p) =>
      p.accounts.flatMap((a) => [
        a.apiKey,
        ...Object.values(a.configuredHeaders).filter((value) => value.length >= MIN_HEADER_SECRET),
      ]),
    );
  }
}
