import type { Account, UpstreamPool } from '../pool.js';

// Rendezvous (highest random weight) hashing, weighted: each account scores weight / -ln(u), with u a uniform
// hash of (key, account) in (0, 1); the highest score wins. A key lands on an account with probability
// proportional to its weight, the same on every gateway instance, and when an account leaves (cools down,
// is removed) only the keys it held move. A dozen lines of integer hashing, so no library: it runs per sticky
// request, must never change between versions (instances must agree), and needs no cryptographic strength.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_TO_32 = 4_294_967_296;

/** 32-bit FNV-1a over the string's UTF-16 code units. */
export function hashString(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser: every input bit flips each output bit with probability one half. */
function mix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The score of one account for a key hash; higher wins. */
function score(keyHash: number, account: Account): number {
  const u = (mix(keyHash ^ mix(hashString(account.name))) + 0.5) / TWO_TO_32;
  return account.weight / -Math.log(u);
}

/**
 * The account a key hashes to among the healthy accounts of a pool, by weight. When every account is cooling
 * down, the one whose cool-down ends first (as `UpstreamPool.pick` does).
 */
export function rendezvous(pool: UpstreamPool, key: string, now: number): Account | undefined {
  const keyHash = hashString(key);
  let best: Account | undefined;
  let bestScore = -1;
  let soonest: Account | undefined;
  for (const account of pool.accounts) {
    if (!account.isHealthy(now)) {
      if (soonest === undefined || account.coolingUntil < soonest.coolingUntil) soonest = account;
      continue;
    }
    const s = score(keyHash, account);
    if (s > bestScore) {
      best = account;
      bestScore = s;
    }
  }
  return best ?? soonest;
}
