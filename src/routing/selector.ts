import type { ClientKey } from '../auth/client-keys.js';
import type { Account, UpstreamPool } from './pool.js';
import type { PinLookup } from './sticky-selector.js';

export interface Selection {
  account: Account;
  /** Told which account finally served the request (after any failover). */
  onServed?: (account: Account) => void;
}

/** Chooses the account a request goes to first. */
export interface AccountSelector {
  /** `lookup`: the conversation's pin lookup, when one was started before the body was read. */
  select(pool: UpstreamPool, client: ClientKey | undefined, conversationId: string | undefined, lookup?: PinLookup): Promise<Selection> | Selection;
  close(): Promise<void>;
}
