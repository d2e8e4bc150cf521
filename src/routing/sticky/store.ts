import { createHash } from 'node:crypto';

/**
 * Where conversation pins live: which account a conversation goes to. Keys come from {@link conversationKey};
 * values are account names. One interface, two implementations: in memory for a single gateway, in Redis
 * for any number of gateways.
 */
export interface StickyStore {
  /**
   * The account pinned under `key`, its pin refreshed to `ttlSeconds`; when there is none, pins `candidate`
   * and returns null. One round trip.
   */
  pin(key: string, candidate: string, ttlSeconds: number): Promise<string | null>;
  /** Pins `key` to `account`, replacing any pin. */
  repin(key: string, account: string, ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

/** Conversation ids longer than this are stored by their SHA-256, so a client cannot make keys huge. */
export const MAX_PLAIN_ID_LENGTH = 128;

/**
 * The store key of a conversation, scoped by pool and client key: one client cannot read or steer another's
 * conversations by guessing their ids. Pool and client names cannot contain ":", so scopes never collide.
 */
export function conversationKey(pool: string, client: string, conversationId: string): string {
  const id =
    conversationId.length > MAX_PLAIN_ID_LENGTH
      ? `sha256:${createHash('sha256').update(conversationId).digest('base64url')}`
      : conversationId;
  return `${pool}:${client}:${id}`;
}
