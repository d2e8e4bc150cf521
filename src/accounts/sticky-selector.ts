import { ANONYMOUS, type ClientKey } from '../auth/client-keys.js';
import type { Account, UpstreamPool } from './pool.js';
import type { AccountSelector, PinLookup, Selection } from './selector.js';
import type { MemoryStickyStore } from './sticky/memory-store.js';
import { rendezvous } from './sticky/rendezvous.js';
import { conversationKey, type StickyStore } from './sticky/store.js';

/**
 * How a conversation's request was routed: to its pin (`hit`), to a new pin (`new`), to a new account because
 * the pinned one is cooling down or gone (`repinned`), or without the store because it failed (`fallback`).
 */
export type StickyResult = 'hit' | 'new' | 'repinned' | 'fallback';

/** `sticky.pinReads`: whether a conversation whose pin the local copy holds waits for Redis's before routing. */
export type PinReads = 'shared' | 'local';

export interface StickySelectorOptions {
  store: StickyStore;
  /**
   * Beside a shared store (Redis): the pins this gateway has seen. They route its conversations while Redis is
   * down, and are written back when a restarted Redis has lost them.
   */
  local?: MemoryStickyStore | undefined;
  ttlSeconds: number;
  /** `shared` when left out. */
  pinReads?: PinReads | undefined;
  /** Told how each conversation request was routed (for metrics). */
  onResult?: ((result: StickyResult) => void) | undefined;
  /** The clock that says which accounts are cooling down; tests set it. */
  now?: (() => number) | undefined;
}

const ignore = (): void => {};

/**
 * A pin served again within this long is not touched again in its client key's index (the pin's own TTL was
 * refreshed by its lookup): an agent's burst of calls costs one index write a second, not one per call.
 */
export const INDEX_TOUCH_INTERVAL_MS = 1_000;
/** Pins whose last index touch is remembered, at most; beyond that the memory starts afresh. */
const TOUCHED_MAX = 10_000;

/**
 * Sends every request of a conversation (`X-Conversation-Id`) to the same account of its pool, so the
 * upstream's prompt cache stays warm; balances everything else by weight.
 *
 * A new conversation is pinned to the account rendezvous hashing gives its key among the healthy accounts:
 * a choice by weight, and the same one every gateway makes without asking anyone. So when the store is
 * unreachable and the gateway falls back to that hash, every conversation that never had to move keeps its
 * account, and the fallback costs no cache. A pin moves when its account cools down or leaves the config, and
 * when a failover served the request from another account; it then stays on the new account.
 *
 * A pin is written only once an account has served the request (`onServed`, which the forwarder calls when
 * an upstream answered): a client that sends a new conversation id with every request, to an upstream that
 * refuses them or with requests refused before they go upstream, costs the store nothing.
 */
export class StickySelector implements AccountSelector {
  /** How long a pin lives after its last use; a config reload may change it. */
  ttlSeconds: number;
  /** Where a conversation's pin is read before routing; a config reload may change it. */
  pinReads: PinReads;
  /** Beside a shared store: the pins this gateway has seen. */
  readonly local: MemoryStickyStore | undefined;
  private readonly store: StickyStore;
  private readonly onResult: ((result: StickyResult) => void) | undefined;
  private readonly now: () => number;
  /** When each pin was last touched in its key's index by this gateway. */
  private readonly touched = new Map<string, number>();

  constructor(options: StickySelectorOptions) {
    this.store = options.store;
    this.local = options.local;
    this.ttlSeconds = options.ttlSeconds;
    this.pinReads = options.pinReads ?? 'shared';
    this.onResult = options.onResult;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts the lookup of a conversation's pin in the shared store ahead of `select`, so it shares its round
   * trip with the request's admission (both go out in one pipelined write). Only with a shared store: a
   * local one answers at once. None either when the pin is read from the local copy (`pinReads: local`):
   * Redis is then read after the request was served.
   */
  prefetch(pool: UpstreamPool, client: ClientKey | undefined, conversationId: string): PinLookup | undefined {
    if (this.local === undefined) return undefined;
    const owner = (client ?? ANONYMOUS).name;
    const key = conversationKey(pool.name, owner, conversationId);
    if (this.localPin(pool, key, this.now()) !== undefined) return { pool: pool.name, owner, conversationId, key, pinned: undefined };
    const pinned = this.store.get(key, this.ttlSeconds);
    pinned.catch(ignore); // awaited by `select`, unless the request is refused first
    return { pool: pool.name, owner, conversationId, key, pinned };
  }

  select(pool: UpstreamPool, client: ClientKey | undefined, conversationId: string | undefined, lookup?: PinLookup): Selection | Promise<Selection> {
    const now = this.now();
    if (conversationId === undefined) {
      const account = pool.pick(now);
      if (account === undefined) throw noAccount(pool);
      return { account };
    }
    const owner = (client ?? ANONYMOUS).name;
    if (lookup !== undefined && lookup.pool === pool.name && lookup.owner === owner && lookup.conversationId === conversationId) {
      return this.route(pool, lookup.key, owner, now, lookup.pinned);
    }
    return this.route(pool, conversationKey(pool.name, owner, conversationId), owner, now, undefined);
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.local?.close();
  }

  private route(pool: UpstreamPool, key: string, owner: string, now: number, prefetched: Promise<string | null> | undefined): Selection | Promise<Selection> {
    const pinned = this.localPin(pool, key, now);
    if (pinned === undefined) return this.selectPinned(pool, key, owner, now, prefetched);
    this.onResult?.('hit');
    return this.selectionReadAfter(key, owner, pinned, prefetched);
  }

  /** With `pinReads: local`: the account the local copy pins `key` to, when it is healthy here. */
  private localPin(pool: UpstreamPool, key: string, now: number): Account | undefined {
    if (this.pinReads !== 'local' || this.local === undefined) return undefined;
    return usable(pool, this.local.getLocal(key, this.ttlSeconds), now);
  }

  private async selectPinned(pool: UpstreamPool, key: string, owner: string, now: number, prefetched: Promise<string | null> | undefined): Promise<Selection> {
    const ttl = this.ttlSeconds;
    const remembered = this.local === undefined ? undefined : usable(pool, this.local.getLocal(key, ttl), now);
    const candidate = remembered ?? rendezvous(pool, key, now);
    if (candidate === undefined) throw noAccount(pool);

    let pinned: string | null;
    try {
      pinned = await (prefetched ?? this.store.get(key, ttl));
    } catch {
      // Redis is down, slow or behind an open breaker (it logs that, once): route as it would have.
      this.onResult?.('fallback');
      return this.selection(key, owner, candidate, undefined);
    }

    let account = candidate;
    let result: StickyResult = 'new';
    if (pinned !== null) {
      const found = pool.account(pinned);
      // (When every account is cooling down, the candidate is the one that recovers first: it may be the pin.)
      if (found !== undefined && (found === candidate || found.isHealthy(now))) {
        account = found;
        result = 'hit';
      } else {
        // The pinned account is cooling down or left the config: try a healthy one, which the pin follows once
        // it has served. When none is healthy, the candidate is the account that recovers first.
        result = 'repinned';
      }
    }
    this.onResult?.(result);
    return this.selection(key, owner, account, pinned ?? undefined);
  }

  /** Whether the pin's index entry is to be touched now: not within {@link INDEX_TOUCH_INTERVAL_MS} of the last. */
  private touchDue(key: string): boolean {
    const now = this.now();
    const last = this.touched.get(key);
    if (last !== undefined && now - last < INDEX_TOUCH_INTERVAL_MS) return false;
    this.rememberTouch(key, now);
    return true;
  }

  private rememberTouch(key: string, now: number): void {
    if (this.touched.size >= TOUCHED_MAX) this.touched.clear();
    this.touched.set(key, now);
  }

  /** `stored` is the account the store pins the conversation to now, if any. */
  private selection(key: string, owner: string, account: Account, stored: string | undefined): Selection {
    return {
      account,
      onServed: (served) => {
        this.local?.setLocal(key, served.name, this.ttlSeconds);
        this.writeBack(key, owner, served, stored);
      },
    };
  }

  /**
   * A conversation routed by the local copy, without waiting for Redis: Redis is read once an account served
   * the request (or its prefetched lookup is used), off the request path. The lookup refreshes the pin's TTL
   * there; when it names another account than this gateway routed to, another gateway moved the pin (after a
   * failover) and the local copy follows it, so the next request does.
   */
  private selectionReadAfter(key: string, owner: string, routed: Account, prefetched: Promise<string | null> | undefined): Selection {
    return {
      account: routed,
      onServed: (served) => {
        this.local?.setLocal(key, served.name, this.ttlSeconds);
        (prefetched ?? this.store.get(key, this.ttlSeconds)).then((stored) => {
          if (stored !== null && stored !== served.name && served.name === routed.name) this.local?.setLocal(key, stored, this.ttlSeconds);
          else this.writeBack(key, owner, served, stored ?? undefined);
        }, ignore);
      },
    };
  }

  /**
   * Pins the conversation in the store to the account that served it, or touches its index entry when the
   * store had it there already. Off the request path: nothing waits for these writes, and a failure only means
   * the next request decides again.
   */
  private writeBack(key: string, owner: string, served: Account, stored: string | undefined): void {
    if (served.name !== stored) {
      this.rememberTouch(key, this.now());
      this.store.set(key, served.name, this.ttlSeconds, owner).catch(ignore);
    } else if (this.touchDue(key)) {
      this.store.touch(key, this.ttlSeconds, owner).catch(ignore);
    }
  }
}

function usable(pool: UpstreamPool, name: string | undefined, now: number): Account | undefined {
  if (name === undefined) return undefined;
  const account = pool.account(name);
  return account !== undefined && account.isHealthy(now) ? account : undefined;
}

function noAccount(pool: UpstreamPool): Error {
  return new Error(`upstream pool ${pool.name} has no accounts`);
}
