import type { FastifyBaseLogger } from 'fastify';
import type { ClientKeyring } from '../auth/client-keys.js';
import type { DatabaseConfig, GatewayConfig } from '../config/schema.js';
import { Store } from '../store/store.js';
import { UsageLedger } from '../usage/ledger.js';
import { KeyRegistry } from './registry.js';

/** The store's settings when `admins` are configured without a `database` section: the embedded store. */
const EMBEDDED_DEFAULT: DatabaseConfig = { path: './data', usageRetentionDays: 400 };

export interface KeyService {
  readonly store: Store;
  readonly registry: KeyRegistry;
  readonly ledger: UsageLedger;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Keys as a service: opened when the config has a `database` section or `admins` (who can only issue keys
 * with somewhere to keep them); otherwise the gateway runs on config keys alone, with no store at all.
 */
export function keyService(config: GatewayConfig, log: FastifyBaseLogger, apply: (keyring: ClientKeyring) => void, current: () => GatewayConfig): KeyService {
  const database = config.database ?? (config.admins.length > 0 ? EMBEDDED_DEFAULT : undefined);
  const store = new Store(database, log);
  const registry = new KeyRegistry(store, log, apply, current);
  const ledger = new UsageLedger(store, log, database?.usageRetentionDays ?? EMBEDDED_DEFAULT.usageRetentionDays);
  return {
    store,
    registry,
    ledger,
    async start() {
      registry.start();
      ledger.start();
      await store.start();
    },
    async close() {
      registry.close();
      await ledger.close();
      await store.close();
    },
  };
}
