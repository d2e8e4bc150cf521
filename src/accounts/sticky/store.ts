import { hash } from 'node:crypto';

/**
 * Where conversation pins live: which account a conversation goes to. Keys come from {@link conversationKey};
 * values are account names. One interface, two implementations: in memory for a single gateway, in Redis
 * for any number of gateways.
 */
export interface StickyStore {
  /** The account pinned under `key`, its pin refreshed to `ttlSeconds`; null when there is none. Pins nothing. */
  get(key: string, ttlSeconds: number): Promise<string | null>;
  /**
   * Pins `key` to `account` (a new pin, or replacing one) for `ttlSeconds`, as one of `client`'s pins: a
   * client key holds a bounded number of them, and its least recently used ones go first.
   */
  set(key: string, account: string, ttlSeconds: number, client: string): Promise<void>;
  /** Marks a pin `get` just found as used by `client` now, so it is the last of its pins to go. */
  touch(key: string, ttlSeconds: number, client: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store key of a conversation, scoped by pool and client key: one client cannot read or steer another's
 * conversations by guessing their ids. Pool and client names cannot contain ":", so scopes never collide.
 *
 * The id itself is stored only as its SHA-256 (base64url): whatever a client sends, the key has a fixed
 * length and no `{...}`, so an id cannot choose the Redis Cluster slot its pin lands in (beside another
 * team's limit counters, or all in one slot), and the raw id is never written to Redis.
 */
export function conversationKey(pool: string, client: string, conversationId: string): string {
  // One-shot: about half the cost of a Hash object, and it runs for every request of a conversation.
  return `${pool}:${client}:${hash('sha256', conversationId, 'base64url')}`;
}
