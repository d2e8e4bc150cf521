// The 10,000-key scenario: the cost of finding a request's key when the gateway holds 1 API key and when it
// holds 10,000, measured on the keyring the gateway really builds (KeyRegistry.keyringFor), in this process,
// alternating the two for several rounds. The request path does only this per key; the rest is the same.
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { KeyRegistry } from '../../src/keys/registry.js';
import { newKeyId, newSecret } from '../../src/keys/secret.js';
import type { StoredKey } from '../../src/store/records.js';
import { Store } from '../../src/store/store.js';

export interface KeyLookupResult {
  /** Nanoseconds per lookup (median over rounds), by number of API keys. */
  nsPerLookup: Record<number, number>;
  lookupsPerRound: number;
  rounds: number;
}

const SIZES = [1, 10_000];

function keyring(count: number): { find: (secret: string) => unknown; secrets: string[] } {
  const config = parseConfig({ clientKeys: [{ name: 'config-key', key: 'config-secret' }], upstreams: [{ name: 'u', baseUrl: 'http://127.0.0.1:1', accounts: [{ name: 'a', apiKey: 'k' }] }] }, {}, 'bench');
  const registry = new KeyRegistry(new Store(undefined, pino({ level: 'silent' })), pino({ level: 'silent' }), () => {}, () => config);
  const secrets: string[] = [];
  const keys: StoredKey[] = [];
  const now = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const secret = newSecret();
    secrets.push(secret.key);
    keys.push({ id: newKeyId(), name: `key-${i}`, team: null, models: null, limits: null, expiresAt: null, metadata: null, createdAt: now, updatedAt: now, keyHint: secret.hint, revokedAt: null, source: 'api', keySha256: secret.sha256, previousSha256: null, previousUntil: null });
  }
  registry.keys = keys;
  const built = registry.keyringFor(config);
  return { find: (secret) => built.find(secret), secrets };
}

export function measureKeyLookup(rounds = 5, lookupsPerRound = 200_000): KeyLookupResult {
  const rings = SIZES.map((size) => ({ size, ...keyring(size) }));
  const samples = new Map<number, number[]>(SIZES.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    for (const ring of rings) {
      let found = 0;
      const started = performance.now();
      for (let i = 0; i < lookupsPerRound; i++) if (ring.find(ring.secrets[i % ring.secrets.length]!) !== undefined) found++;
      const ns = ((performance.now() - started) * 1e6) / lookupsPerRound;
      if (found !== lookupsPerRound) throw new Error(`key lookup bench: ${lookupsPerRound - found} keys not found among ${ring.size}`);
      samples.get(ring.size)!.push(ns);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { nsPerLookup: Object.fromEntries(SIZES.map((s) => [s, median(samples.get(s)!)])), lookupsPerRound, rounds };
}

export function renderKeyLookup(result: KeyLookupResult): string {
  const one = result.nsPerLookup[1]!;
  const many = result.nsPerLookup[10_000]!;
  const ratio = many / one;
  return [
    '## Key lookup: 1 API key against 10,000',
    '',
    `The keyring the gateway builds (config key + N API keys), ${result.lookupsPerRound.toLocaleString('en-US')} lookups of present keys per round, median of ${result.rounds} rounds.`,
    '',
    '| API keys | ns per lookup (SHA-256 + map) |',
    '| ---: | ---: |',
    `| 1 | ${one.toFixed(0)} |`,
    `| 10,000 | ${many.toFixed(0)} |`,
    '',
    `10,000 keys cost ${ratio.toFixed(2)}x what one does per request (${ratio <= 1.5 ? 'PASS' : 'FAIL'}: at most 1.5x; the lookups of the bigger map miss the CPU cache more often).`,
  ].join('\n');
}
