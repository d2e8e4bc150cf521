// The keys store as an operator runs it: embedded PGlite in a temp folder, created and migrated before the
// gateway starts (as after its first start: creating the cluster in-process leaves the gateway about
// 400 MiB larger for good, which a restarted gateway does not carry), the limited key issued through the
// admin API (POST /admin/keys), and for the 10,000-key scenario the store filled beforehand with that many
// more keys (the gateway loads them all at start, as it would in production).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEngine } from '../../src/store/embedded-engine.js';
import { migrate } from '../../src/store/migrations.js';

/** The admin credential the bench's gateways accept (config `admins`). */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-6c1d9e2f7a';

/** A fresh folder for one gateway's embedded store; removed by `remove`. */
export function storeFolder(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'gateway-bench-store-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Creates and migrates the embedded store at `path` (the gateway not running yet) and puts `count` API keys
 * in it, in one statement: random secrets nobody holds, each with a budget, so they weigh in the gateway's
 * keyring as real keys do.
 */
export async function prepareStore(path: string, count: number): Promise<void> {
  const engine = await embeddedEngine(path);
  try {
    await migrate(engine);
    const seed = randomBytes(8).toString('hex');
    await engine.query(
      `INSERT INTO gateway_keys (id, name, limits, key_sha256, key_hint)
       SELECT 'key_fill' || i, 'fill-' || i, '{"requestsPerMinute": 600, "usdPerMonth": 50}'::jsonb,
              encode(sha256(convert_to($1 || i, 'UTF8')), 'hex'), lpad(i::text, 4, '0')
       FROM generate_series(1, $2::int) AS i`,
      [seed, count],
    );
  } finally {
    await engine.close();
  }
}

/** Issues an API key through the gateway's admin API and returns its secret. */
export async function issueKey(origin: string, fields: { name: string; limits: Record<string, number> }): Promise<string> {
  const res = await fetch(`${origin}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(fields),
  });
  const body = (await res.json()) as { key?: string };
  if (res.status !== 201 || typeof body.key !== 'string') throw new Error(`POST /admin/keys answered ${res.status}: ${JSON.stringify(body)}`);
  return body.key;
}
