import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedEngine } from '../../src/store/embedded-engine.js';
import type { Engine } from '../../src/store/engine.js';
import { MIGRATIONS, migrate, SchemaTooNewError } from '../../src/store/migrations.js';
import { postgresEngine } from '../../src/store/postgres-engine.js';
import { RecordConflict } from '../../src/store/records.js';
import { Store } from '../../src/store/store.js';
import { UsageRepository } from '../../src/store/usage-repo.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

const log = pino({ level: 'silent' });
const secret = (n: number) => ({ sha256: n.toString(16).padStart(64, '0'), hint: String(n).padStart(4, '0') });
const fields = (name: string) => ({ name, team: null, models: null, limits: null, expiresAt: null, metadata: null });
const delta = { day: '2026-12-06', key: 'k', model: 'm', team: '', requests: 1, promptTokens: 10, cachedTokens: 2, cacheWriteTokens: 3, completionTokens: 5, reasoningTokens: 1, costMicros: 1234 };

async function readyStore(config: ConstructorParameters<typeof Store>[0]): Promise<Store> {
  const store = new Store(config, log);
  await store.start();
  expect(store.state).toBe('ready');
  return store;
}

describe('store on a real PostgreSQL', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.remove();
  });

  it('migrates once when two instances start at the same moment', async () => {
    const engines = [postgresEngine(pg.url, () => {}), postgresEngine(pg.url, () => {})];
    const results = await Promise.all(engines.map((e) => migrate(e)));
    expect(results.map((r) => r.to)).toEqual([MIGRATIONS.length, MIGRATIONS.length]);
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    const rows = await engines[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_schema');
    expect(rows[0]!.n).toBe(MIGRATIONS.length);
    await Promise.all(engines.map((e) => e.close()));
  });

  it('refuses a database whose schema is newer than the code, with a clear message', async () => {
    const engine = postgresEngine(pg.url, () => {});
    await migrate(engine);
    await engine.query('INSERT INTO gateway_schema (version) VALUES ($1)', [MIGRATIONS.length + 1]);
    await expect(migrate(engine)).rejects.toThrow(SchemaTooNewError);
    await expect(migrate(engine)).rejects.toThrow(/newer than this gateway knows/);
    const store = new Store({ url: pg.url, path: './unused', usageRetentionDays: 400 }, log);
    await store.start();
    expect(store.state).toBe('incompatible');
    await store.close();
    await engine.query('DELETE FROM gateway_schema WHERE version = $1', [MIGRATIONS.length + 1]);
    await engine.close();
  });

  it('lets one of ten concurrent creates of a name win; the rest are name_taken', async () => {
    const store = await readyStore({ url: pg.url, path: './unused', usageRetentionDays: 400 });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.use((r) => r.keys.create(`key_race${i}`, fields('racer'), secret(100 + i), 'admin', new Set()))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(9);
    for (const r of rejected) expect((r.reason as RecordConflict).code).toBe('name_taken');
    await store.close();
  });

  it('applies a ledger batch once, however often it is retried', async () => {
    const store = await readyStore({ url: pg.url, path: './unused', usageRetentionDays: 400 });
    expect(await store.use((r) => r.usage.apply('batch-1', [delta]))).toBe(true);
    expect(await store.use((r) => r.usage.apply('batch-1', [delta]))).toBe(false);
    expect(await store.use((r) => r.usage.apply('batch-2', [delta]))).toBe(true);
    const rows = await store.use((r) => r.usage.daily('2026-12-06', '2026-12-06', 'key,model'));
    expect(rows).toEqual([{ date: '2026-12-06', key: 'k', model: 'm', requests: 2, promptTokens: 20, cachedTokens: 4, cacheWriteTokens: 6, completionTokens: 10, reasoningTokens: 2, costUsd: 0.002468 }]);
    await store.close();
  });

  it('upgrades a ledger written before cache writes were kept: its rows read 0 of them, new batches add theirs', async () => {
    const engine = postgresEngine(pg.url, () => {});
    await engine.exec('CREATE DATABASE ledger_upgrade');
    await engine.close();
    const url = pg.url.replace(/\/[^/]*$/, '/ledger_upgrade');
    const old = postgresEngine(url, () => {});
    await migrate(old, MIGRATIONS.slice(0, 1));
    await old.query(
      `INSERT INTO gateway_usage_daily (day, key_name, model, team, requests, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros)
       VALUES ('2026-12-06', 'k', 'm', '', 1, 10, 2, 5, 1, 1234)`,
    );
    await old.close();
    const store = await readyStore({ url, path: './unused', usageRetentionDays: 400 });
    expect((await store.use((r) => r.usage.daily('2026-12-06', '2026-12-06', 'key')))[0]).toMatchObject({ promptTokens: 10, cacheWriteTokens: 0 });
    await store.use((r) => r.usage.apply('after-upgrade', [delta]));
    expect((await store.use((r) => r.usage.daily('2026-12-06', '2026-12-06', 'key')))[0]).toMatchObject({ promptTokens: 20, cacheWriteTokens: 3 });
    await store.close();
  });

  it('drops ledger rows older than the retention, and keeps the rest', async () => {
    const store = await readyStore({ url: pg.url, path: './unused', usageRetentionDays: 400 });
    const old = { ...delta, day: '2001-01-01' };
    const recent = { ...delta, day: new Date(Date.now() - 399 * 86_400_000).toISOString().slice(0, 10) };
    await store.use((r) => r.usage.apply('retention', [old, recent]));
    await store.use((r) => r.usage.prune(400));
    expect(await store.use((r) => r.usage.daily('2001-01-01', '2001-01-01', 'key'))).toEqual([]);
    expect(await store.use((r) => r.usage.daily(recent.day, recent.day, 'key'))).toHaveLength(1);
    await store.close();
  });

  it('reports the database unreachable, then ready again, across a PostgreSQL restart', async () => {
    const store = await readyStore({ url: pg.url, path: './unused', usageRetentionDays: 400 });
    await pg.stop();
    await expect(store.use((r) => r.keys.all())).rejects.toThrow(/cannot be reached/);
    expect(store.state).toBe('unavailable');
    await pg.start();
    await expect(store.use((r) => r.keys.all())).resolves.toBeInstanceOf(Array);
    expect(store.state).toBe('ready');
    await store.close();
  });

  it('starts while PostgreSQL is down and becomes ready once it answers', async () => {
    await pg.stop();
    const store = new Store({ url: pg.url, path: './unused', usageRetentionDays: 400 }, log);
    await store.start();
    expect(store.state).toBe('connecting');
    const ready = new Promise<void>((resolve) => store.onReady(resolve));
    await pg.start();
    await ready;
    expect(store.state).toBe('ready');
    await store.close();
  });
});

describe('embedded store (PGlite)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-embedded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the same migrations and keeps keys, teams and the ledger across a restart', async () => {
    const config = { path: path.join(dir, 'data'), usageRetentionDays: 400 };
    const first = await readyStore(config);
    await first.use((r) => r.teams.create({ name: 'ml', models: ['gpt-4o'], limits: null, metadata: null }, 'admin'));
    await first.use((r) => r.keys.create('key_one', { ...fields('alice'), team: 'ml' }, secret(1), 'admin', new Set()));
    await first.use((r) => r.usage.apply('b1', [delta]));
    await first.close();

    const second = await readyStore(config);
    const keys = await second.use((r) => r.keys.all());
    expect(keys.map((k) => [k.name, k.team, k.keyHint])).toEqual([['alice', 'ml', '0001']]);
    expect((await second.use((r) => r.teams.all())).map((t) => t.models)).toEqual([['gpt-4o']]);
    expect(await second.use((r) => r.usage.apply('b1', [delta]))).toBe(false);
    expect((await second.use((r) => r.usage.daily('2026-12-06', '2026-12-06', 'team')))[0]).toMatchObject({ team: '', requests: 1 });
    await second.close();
  });

  it('fills the usage rollup from a ledger written before it existed, and keeps it with each batch and prune', async () => {
    const engine: Engine = await embeddedEngine(path.join(dir, 'rollup'));
    await migrate(engine, MIGRATIONS.slice(0, 1));
    await engine.query(
      `INSERT INTO gateway_usage_daily VALUES ('2026-12-06', 'k1', 'm', 't', 1, 10, 0, 5, 0, 100), ('2026-12-06', 'k2', 'm', 't', 2, 20, 0, 5, 0, 200),
       ('2026-12-06', 'k3', 'm', '', 4, 40, 0, 5, 0, 400)`,
    );
    expect(await migrate(engine)).toEqual({ from: 1, to: MIGRATIONS.length });
    const rollup = () => engine.query<{ team: string; requests: number; cache_write_tokens: number; cost_micros: number }>('SELECT team, requests::int, cache_write_tokens::int, cost_micros::int FROM gateway_usage_rollup ORDER BY team');
    expect(await rollup()).toEqual([
      { team: '', requests: 4, cache_write_tokens: 0, cost_micros: 400 },
      { team: 't', requests: 3, cache_write_tokens: 0, cost_micros: 300 },
    ]);
    const usage = new UsageRepository(engine);
    await usage.apply('later', [{ ...delta, key: 'k4', model: 'm', team: 't', costMicros: 1000 }, { ...delta, day: '2001-01-01', team: 'old' }]);
    expect((await rollup()).slice(1)).toEqual([
      { team: 'old', requests: 1, cache_write_tokens: 3, cost_micros: 1234 },
      { team: 't', requests: 4, cache_write_tokens: 3, cost_micros: 1300 },
    ]);
    await usage.prune(400);
    expect((await rollup()).map((r) => r.team)).toEqual(['', 't']);
    await engine.close();
  });

  it('refuses a schema newer than the code', async () => {
    const engine: Engine = await embeddedEngine(path.join(dir, 'newer'));
    await migrate(engine);
    await engine.query('INSERT INTO gateway_schema (version) VALUES ($1)', [MIGRATIONS.length + 5]);
    await expect(migrate(engine)).rejects.toThrow(`schema is at version ${MIGRATIONS.length + 5}`);
    await engine.close();
  });
});
