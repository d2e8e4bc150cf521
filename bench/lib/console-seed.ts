// The store `npm run bench:console` measures the console on: keys, teams and audit entries written in a few
// statements (the admin API would take one transaction each), and the usage ledger of every key over the last
// days, written through the store's own ledger repository in batches, as the gateway's flushes write it.
import { embeddedEngine } from '../../src/store/embedded-engine.js';
import { migrate } from '../../src/store/migrations.js';
import { UsageRepository, type UsageDelta } from '../../src/store/usage-repo.js';

export const BENCH_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'text-embedding-3-small'];
const DAY_MS = 86_400_000;

export const benchKeyName = (i: number): string => `bench-${String(i).padStart(6, '0')}`;

/** Seeds `dir` with `keys` keys (every other one in one of `teams` teams), the teams, an audit entry per key, and `days` days of usage of every key. */
export async function seedConsoleStore(dir: string, keys: number, teams: number, days: number): Promise<{ ledgerRows: number }> {
  const engine = await embeddedEngine(dir);
  await migrate(engine);
  await engine.query(`INSERT INTO gateway_teams (name, limits) SELECT 'team-' || t, '{"usdPerDay": 50}'::jsonb FROM generate_series(1, $1::int) t`, [teams]);
  await engine.query(
    `INSERT INTO gateway_keys (id, name, team, models, limits, key_sha256, key_hint)
     SELECT 'key_bench' || lpad(i::text, 6, '0'), 'bench-' || lpad(i::text, 6, '0'),
       CASE WHEN i % 2 = 0 THEN 'team-' || (i % $2::int + 1) END,
       CASE WHEN i % 3 = 0 THEN '["gpt-4o-mini"]'::jsonb END,
       CASE WHEN i % 4 = 0 THEN '{"requestsPerMinute": 600, "usdPerDay": 10}'::jsonb END,
       encode(sha256(('bench-secret-' || i)::bytea), 'hex'), lpad((i % 10000)::text, 4, '0')
     FROM generate_series(1, $1::int) i`,
    [keys, teams],
  );
  await engine.query(
    `INSERT INTO gateway_audit (by_name, action, target, changes)
     SELECT 'ops', 'key.created', 'key_bench' || lpad(i::text, 6, '0'), '{}'::jsonb FROM generate_series(1, $1::int) i`,
    [keys],
  );
  await engine.query('UPDATE gateway_changes SET version = version + 1');

  // One batch per day: every key used one model that day, a little differently each.
  const ledger = new UsageRepository(engine);
  let ledgerRows = 0;
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.now() - d * DAY_MS).toISOString().slice(0, 10);
    const rows: UsageDelta[] = Array.from({ length: keys }, (_, n) => {
      const i = n + 1;
      return {
        day,
        key: benchKeyName(i),
        model: BENCH_MODELS[(i + d) % BENCH_MODELS.length]!,
        team: i % 2 === 0 ? `team-${(i % teams) + 1}` : '',
        requests: 1 + ((i * 7 + d) % 40),
        promptTokens: 200 + ((i * 131 + d * 17) % 5_000),
        cachedTokens: (i * 13) % 100,
        cacheWriteTokens: (i * 3) % 50,
        completionTokens: 50 + ((i * 37 + d) % 800),
        reasoningTokens: 0,
        costMicros: 100 + ((i * 997 + d * 31) % 20_000),
      };
    });
    await ledger.apply(`bench-ledger-${day}`, rows);
    ledgerRows += rows.length;
  }
  await engine.close();
  return { ledgerRows };
}
