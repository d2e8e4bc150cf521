import { createHash } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { RedisConnection } from '../redis/connection.js';
import { MemoryStickyStore } from './sticky/memory-store.js';

/** Where a stored response lives: the account that made it, and its catalog model. */
export interface ResponseOwner {
  readonly account: string;
  readonly model: string;
}

const SEPARATOR = '\n';

/**
 * Which account made each response id, per client key. A stored response, and the encrypted reasoning a
 * response carries, exist only at the account that produced it: another account answers
 * `previous_response_not_found`. Kept in Redis (shared by every gateway, with the pin TTL) and in a bounded
 * local copy; without Redis, in that copy alone.
 *
 * The store key hashes the client key's name with the id, so a key never finds another key's responses, and
 * no part of a client-sent id picks a Redis Cluster slot or lands beside other keys.
 */
export class ResponseOwners {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection | undefined,
    private readonly local: MemoryStickyStore,
    public ttlSeconds: number,
  ) {
    this.prefix = `${redis?.keyPrefix ?? ''}resp:`;
  }

  /** Remembers a response the upstream just made; nothing waits for the write. */
  record(clientKey: string, responseId: string, owner: ResponseOwner): void {
    const key = this.key(clientKey, responseId);
    const value = owner.account + SEPARATOR + owner.model;
    this.local.setLocal(key, value, this.ttlSeconds);
    this.redis?.run((client) => client.set(key, value, 'EX', this.ttlSeconds)).catch(() => undefined);
  }

  /**
   * The owner of `responseId` for this client key, or undefined when the key has no such response. Rejects
   * when only Redis could tell and it cannot be reached.
   */
  async find(clientKey: string, responseId: string): Promise<ResponseOwner | undefined> {
    const key = this.key(clientKey, responseId);
    const known = this.local.getLocal(key, this.ttlSeconds);
    if (known !== undefined) return parse(known);
    if (this.redis === undefined) return undefined;
    const stored = await this.redis.run((client) => client.get(key));
    if (stored === null) return undefined;
    this.local.setLocal(key, stored, this.ttlSeconds);
    return parse(stored);
  }

  /**
   * As `find`, for a request: when only Redis could tell and it cannot be reached, the request is refused
   * (503 `affinity_unavailable`) rather than sent to an account that may hold another key's response.
   */
  async findForRequest(clientKey: string, responseId: string): Promise<ResponseOwner | undefined> {
    try {
      return await this.find(clientKey, responseId);
    } catch {
      throw new GatewayError(503, 'server_error', 'Which account holds this response is kept in Redis, which cannot be reached right now.', {
        code: 'affinity_unavailable',
      });
    }
  }

  /** Forgets a deleted response. */
  forget(clientKey: string, responseId: string): void {
    const key = this.key(clientKey, responseId);
    this.local.delete(key);
    this.redis?.run((client) => client.del(key)).catch(() => undefined);
  }

  private key(clientKey: string, responseId: string): string {
    return this.prefix + createHash('sha256').update(clientKey).update('\0').update(responseId).digest('base64url');
  }
}

function parse(value: string): ResponseOwner {
  const at = value.indexOf(SEPARATOR);
  return { account: value.slice(0, at), model: value.slice(at + 1) };
}
