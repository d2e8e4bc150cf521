import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FailedAttempts } from '../admin/failed-attempts.js';
import { sha256 } from '../auth/client-keys.js';
import type { RedisConnection } from '../redis/connection.js';

/** Who a console session belongs to: an admin credential (with its role), or a gateway key's holder. */
export type ConsoleIdentity = { readonly role: 'admin' | 'viewer'; readonly name: string } | { readonly role: 'key'; readonly name: string };

export interface ConsoleSession {
  readonly identity: ConsoleIdentity;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** How long a console session lasts. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1_000;

/**
 * Console sessions, found by the SHA-256 of their cookie's random id (the store never holds a usable
 * cookie). In Redis when the gateway has one, so every instance knows every session; else in memory.
 */
export class SessionStore {
  private readonly local = new Map<string, ConsoleSession>();

  constructor(
    private readonly redis: RedisConnection | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session; resolves with the cookie value that carries it. */
  async open(identity: ConsoleIdentity): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { identity, expiresAt: this.now() + SESSION_TTL_MS };
    const key = this.key(id);
    if (this.redis === undefined) {
      this.sweep();
      this.local.set(key, session);
    } else {
      await this.redis.run((client) => client.set(key, JSON.stringify(session), 'PX', SESSION_TTL_MS));
    }
    return id;
  }

  async find(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (id === undefined || id.length === 0 || id.length > 128) return undefined;
    const key = this.key(id);
    let session: ConsoleSession | undefined;
    if (this.redis === undefined) session = this.local.get(key);
    else {
      const stored = await this.redis.run((client) => client.get(key));
      session = stored === null ? undefined : (JSON.parse(stored) as ConsoleSession);
    }
    return session !== undefined && session.expiresAt > this.now() ? session : undefined;
  }

  async close(id: string | undefined): Promise<void> {
    if (id === undefined) return;
    const key = this.key(id);
    if (this.redis === undefined) this.local.delete(key);
    else await this.redis.run((client) => client.del(key));
  }

  private key(id: string): string {
    return `${this.redis?.keyPrefix ?? ''}console:${sha256(id).toString('base64url')}`;
  }

  /** Drops expired sessions, so that signing in over and over cannot grow the map without end. */
  private sweep(): void {
    const now = this.now();
    for (const [key, session] of this.local) if (session.expiresAt <= now) this.local.delete(key);
  }
}

/** What the admin API asks of the console: the session a request's cookie carries. */
export interface ConsoleSessions {
  /** The session a request's cookie carries, if any and not expired; rejects with 503 when its store is down. */
  of(request: FastifyRequest): Promise<ConsoleSession | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The console's sessions (src/console/plugin.ts), for the admin API to accept a signed-in browser. */
    consoleSessions: ConsoleSessions;
    /** Failed admin authentications per client address (src/admin/auth.ts). */
    adminFailures: FailedAttempts;
  }
}
