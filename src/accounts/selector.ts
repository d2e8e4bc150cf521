import type { ClientKey } from '../auth/client-keys.js';
import type { Account, UpstreamPool } from './pool.js';

/** A pin's lookup started before the request's body was read; `select` uses it when its key is the one. */
export interface PinLookup {
  /** What the key was made of: `select` compares these rather than hash the conversation id again. */
  readonly pool: string;
  readonly owner: string;
  readonly conversationId: string;
  readonly key: string;
  /**
   * Redis's answer; none when the pin is read from the local copy (`sticky.pinReads: local`), and from Redis
   * only once the request was served.
   */
  readonly pinned: Promise<string | null> | undefined;
}

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
