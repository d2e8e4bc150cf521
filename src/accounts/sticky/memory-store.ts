import type { StickyStore } from './store.js';

interface Entry {
  account: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * Pins in this process: a Map kept in least-recently-used order (a used entry is moved to the end), bounded
 * to `maxEntries`, with the same TTL semantics as the Redis store. Serves a gateway without Redis, and keeps
 * a local copy of the pins beside Redis so an outage or a restarted Redis does not lose them.
 */
export class MemoryStickyStore implements StickyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(key: string, ttlSeconds: number): Promise<string | null> {
    return this.getLocal(key, ttlSeconds) ?? null;
  }

  /** The pinned account, its TTL refreshed; undefined when there is none (or it expired). At once, without a promise. */
  getLocal(key: string, ttlSeconds: number): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    entry.expiresAt = now + ttlSeconds * 1000;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.account;
  }

  /** Pins `key` to `account`, at once. */
  setLocal(key: string, account: string, ttlSeconds: number): void {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.account = account;
      entry.expiresAt = now + ttlSeconds * 1000;
      this.entries.delete(key);
      this.entries.set(key, entry);
      return;
    }
    this.entries.set(key, { account, expiresAt: now + ttlSeconds * 1000 });
    this.evict(now);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The Redis store's interface; `client` is not needed here, where `maxEntries` bounds every client together. */
  async set(key: string, account: string, ttlSeconds: number): Promise<void> {
    this.setLocal(key, account, ttlSeconds);
  }

  /** Nothing to do: `get` already made the pin the most recently used. */
  async touch(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
  }

  /** Drops the least recently used entries past the bound, and a couple of expired ones (amortised sweeping). */
  private evict(now: number): void {
    let swept = 0;
    for (const [key, entry] of this.entries) {
      if (this.entries.size > this.maxEntries || (swept < 2 && entry.expiresAt <= now)) {
        this.entries.delete(key);
        swept++;
      } else {
        break;
      }
    }
  }
}
