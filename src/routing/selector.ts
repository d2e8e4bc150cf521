import type { ClientKey } from '../auth/client-keys.js';
import type { Account, UpstreamPool } from './pool.js';

export interface Selection {
  account: Account;
  /** Told which account finally served the request (after any failover). */
  onServed?: (account: Account) => void;
}

/** Chooses the account a request goes to first. */
export interface AccountSelector {
  select(pool: UpstreamPool, client: ClientKey | undefined, conversationId: string | undefined): Promise<Selection> | Selection;
  close(): Promise<void>;
}
