// Weighted rendezvous hashing: the fallback (and first) choice of a conversation's account.
import { describe, expect, it } from 'vitest';
import type { UpstreamPool } from '../../../src/accounts/pool.js';
import { hashString, rendezvous } from '../../../src/accounts/sticky/rendezvous.js';
import { poolWithWeights } from '../../helpers/pools.js';

const NOW = 1_700_000_000_000;

const KEYS = Array.from({ length: 20_000 }, (_, i) => `mock:team:conversation-${i}`);

function assignment(p: UpstreamPool, now = NOW): Map<string, string> {
  return new Map(KEYS.map((k) => [k, rendezvous(p, k, now)!.name]));
}

describe('rendezvous hashing', () => {
  it('hashes with a fixed function, so every gateway instance and version agrees', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('hello')).toBe(0x4f9f2cab);
    // Two pools built from the same config (two instances) choose alike.
    const one = poolWithWeights({ a: 2, b: 1, c: 1 });
    const two = poolWithWeights({ a: 2, b: 1, c: 1 });
    for (const key of KEYS.slice(0, 500)) expect(rendezvous(one, key, NOW)!.name).toBe(rendezvous(two, key, NOW)!.name);
  });

  it('spreads 20000 keys by weight 2:1:1 within ±2 percentage points', () => {
    const counts = new Map<string, number>();
    for (const name of assignment(poolWithWeights({ a: 2, b: 1, c: 1 })).values()) counts.set(name, (counts.get(name) ?? 0) + 1);
    expect(Math.abs(counts.get('a')! / KEYS.length - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(counts.get('b')! / KEYS.length - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(counts.get('c')! / KEYS.length - 0.25)).toBeLessThan(0.02);
  });

  it('moves only the keys of an account that cools down, and they come back when it recovers', () => {
    const p = poolWithWeights({ a: 1, b: 1, c: 1, d: 1 });
    const before = assignment(p);
    p.account('c')!.coolingUntil = NOW + 10_000;
    const during = assignment(p);
    let moved = 0;
    for (const [key, name] of before) {
      if (name === 'c') {
        expect(during.get(key)).not.toBe('c');
        moved++;
      } else {
        expect(during.get(key)).toBe(name);
      }
    }
    expect(moved).toBeGreaterThan(KEYS.length / 5);
    expect(assignment(p, NOW + 10_000)).toEqual(before);
  });

  it('moves only about a fair share of keys to an account that is added', () => {
    const before = assignment(poolWithWeights({ a: 1, b: 1, c: 1 }));
    const after = assignment(poolWithWeights({ a: 1, b: 1, c: 1, d: 1 }));
    let moved = 0;
    for (const [key, name] of after) {
      if (name !== before.get(key)) {
        expect(name).toBe('d');
        moved++;
      }
    }
    expect(Math.abs(moved / KEYS.length - 0.25)).toBeLessThan(0.02);
  });

  it('chooses the account that recovers first when every account is cooling down', () => {
    const p = poolWithWeights({ a: 1, b: 1, c: 1 });
    p.account('a')!.coolingUntil = NOW + 3_000;
    p.account('b')!.coolingUntil = NOW + 1_000;
    p.account('c')!.coolingUntil = NOW + 2_000;
    for (const key of KEYS.slice(0, 50)) expect(rendezvous(p, key, NOW)!.name).toBe('b');
  });
});
