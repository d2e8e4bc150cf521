import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseConfig } from '../config/schema.js';
import { auditEntries } from './changes.js';
import { embeddedEngine } from './embedded-engine.js';
import { sqlState, type Engine } from './engine.js';
import { KeysRepository } from './keys-repo.js';
import { migrate, SchemaTooNewError } from './migrations.js';
import { postgresEngine } from './postgres-engine.js';
import { RecordConflict, RecordNotFound, type AuditEntry } from './records.js';
import { TeamsRepository } from './teams-repo.js';
import { UsageRepository } from './usage-repo.js';

/**
 * `disabled`: no `database` and no `admins` configured; `connecting`: not reached yet; `ready`; `unavailable`: it
 * answered once and fails now; `incompatible`: its schema is newer than this code (never retried).
 */
export type StoreState = 'disabled' | 'connecting' | 'ready' | 'unavailable' | 'incompatible';

export interface Repositories {
  readonly keys: KeysRepository;
  readonly teams: TeamsRepository;
  readonly usage: UsageRepository;
  /** The admin audit, newest first, after the entry `beforeId` when given (entries are written by the keys and teams repositories). */
  audit(since: string | undefined, limit: number, beforeId?: string): Promise<AuditEntry[]>;
}

export class StoreUnavailable extends Error {
  constructor(state: StoreState) {
    super(state === 'disabled' ? 'No database is configured: add a `database` section to the gateway config.' : 'The database cannot be reached right now; try again shortly.');
    this.name = 'StoreUnavailable';
  }
}

const RETRY_MS = 1_000;

/** SQLSTATE classes of a lost or refused connection: anything else is an answer from a working database. */
function connectionLost(err: unknown): boolean {
  if (err instanceof RecordNotFound || err instanceof RecordConflict) return false;
  const state = sqlState(err);
  return state === undefined || state.startsWith('08') || state.startsWith('57') || state.startsWith('53');
}

/** The database behind keys, teams, the audit and the ledger. It starts in the background and keeps retrying. */
export class Store {
  state: StoreState;
  private engine: Engine | undefined;
  private repos: Repositories | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private warned = false;
  private readonly readyListeners: (() => void)[] = [];

  constructor(
    readonly config: DatabaseConfig | undefined,
    private readonly log: FastifyBaseLogger,
    private readonly open: () => Promise<Engine> = () =>
      config?.url !== undefined ? Promise.resolve(postgresEngine(config.url, (err) => this.failed(err))) : embeddedEngine(config?.path ?? './data'),
  ) {
    this.state = config === undefined ? 'disabled' : 'connecting';
  }

  get kind(): 'postgres' | 'embedded' | 'none' {
    return this.config === undefined ? 'none' : this.config.url !== undefined ? 'postgres' : 'embedded';
  }

  /** One attempt now (awaited, so a reachable store is ready when the app starts), then retries in the background. */
  async start(): Promise<void> {
    if (this.state === 'disabled') return;
    try {
      this.engine ??= await this.open();
      const { from, to } = await migrate(this.engine);
      if (from !== to) this.log.info({ store: this.kind, from, to }, 'store schema migrated');
      const engine = this.engine;
      this.repos = {
        keys: new KeysRepository(engine),
        teams: new TeamsRepository(engine),
        usage: new UsageRepository(engine),
        audit: (since, limit, beforeId) => auditEntries(engine, since, limit, beforeId),
      };
      this.state = 'ready';
      this.log.info({ store: this.kind }, 'store ready');
      for (const listener of this.readyListeners) listener();
    } catch (err) {
      if (err instanceof SchemaTooNewError) {
        this.state = 'incompatible';
        this.log.error({ store: this.kind, err: err.message }, 'store refused: API keys stay unavailable until the gateway is upgraded');
        return;
      }
      // Loud once, then quiet while it keeps retrying every second.
      const level = this.warned ? 'debug' : 'error';
      this.warned = true;
      this.log[level](
        { store: this.kind, err: (err as Error).message },
        'STORE UNAVAILABLE: serving config keys only; API keys load once the database answers, admin writes answer 503',
      );
      if (!this.closed) this.retry = setTimeout(() => void this.start(), RETRY_MS);
    }
  }

  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
    if (this.state === 'ready' || this.state === 'unavailable') listener();
  }

  /** Runs `work` against the store; throws StoreUnavailable when it is not there, and tracks whether it answers. */
  async use<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    if (this.repos === undefined) throw new StoreUnavailable(this.state);
    try {
      const value = await work(this.repos);
      this.state = 'ready';
      return value;
    } catch (err) {
      if (!connectionLost(err)) throw err;
      this.failed(err as Error);
      throw new StoreUnavailable(this.state);
    }
  }

  private failed(err: Error): void {
    if (this.state === 'ready') this.log.error({ store: this.kind, err: err.message }, 'STORE UNAVAILABLE: keys in memory stay in force; admin writes answer 503');
    if (this.repos !== undefined) this.state = 'unavailable';
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.engine?.close();
  }
}
