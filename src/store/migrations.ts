import type { Engine } from './engine.js';

/**
 * The schema, one step per version, in order. A step is never edited once released: a change is a new step.
 * Both engines run the same SQL.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE gateway_teams (
    name text PRIMARY KEY,
    models jsonb,
    limits jsonb,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE TABLE gateway_keys (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    team text,
    models jsonb,
    limits jsonb,
    metadata jsonb,
    expires_at timestamptz,
    key_sha256 text NOT NULL UNIQUE,
    key_hint text NOT NULL,
    previous_sha256 text,
    previous_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at timestamptz
  );
  CREATE INDEX gateway_keys_team ON gateway_keys (team);
  CREATE TABLE gateway_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    by_name text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    changes jsonb NOT NULL
  );
  CREATE INDEX gateway_audit_at ON gateway_audit (at DESC, id DESC);
  CREATE TABLE gateway_usage_daily (
    day date NOT NULL,
    key_name text NOT NULL,
    model text NOT NULL,
    team text NOT NULL,
    requests bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    cached_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_micros bigint NOT NULL,
    PRIMARY KEY (day, key_name, model, team)
  );
  CREATE TABLE gateway_usage_batches (
    id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE TABLE gateway_changes (
    id int PRIMARY KEY,
    version bigint NOT NULL
  );
  INSERT INTO gateway_changes (id, version) VALUES (1, 0);
  `,
  // Input tokens written to the prompt cache (Anthropic's cache_creation_input_tokens), a part of prompt_tokens.
  `
  ALTER TABLE gateway_usage_daily ADD COLUMN cache_write_tokens bigint NOT NULL DEFAULT 0;
  `,
  // The ledger summed over keys (day × team × model: a few thousand rows a month however many keys there are),
  // kept by the same transaction as the ledger, for totals and teams' and models' usage; and the ledger by key,
  // for a few keys' days.
  `
  CREATE TABLE gateway_usage_rollup (
    day date NOT NULL,
    team text NOT NULL,
    model text NOT NULL,
    requests bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    cached_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_micros bigint NOT NULL,
    PRIMARY KEY (day, team, model)
  );
  INSERT INTO gateway_usage_rollup (day, team, model, requests, prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, reasoning_tokens, cost_micros)
    SELECT day, team, model, sum(requests), sum(prompt_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(completion_tokens), sum(reasoning_tokens), sum(cost_micros)
    FROM gateway_usage_daily GROUP BY day, team, model;
  CREATE INDEX gateway_usage_daily_key ON gateway_usage_daily (key_name, day);
  `,
];

/** Any fixed number: instances starting at once take this lock in turn, so the schema is migrated once. */
const MIGRATION_LOCK = 7_254_310_022;

export class SchemaTooNewError extends Error {
  constructor(found: number, known: number) {
    super(
      `the database's schema is at version ${found}, newer than this gateway knows (${known}): ` +
        'a newer gateway has migrated it. Run that version (or newer), or restore a backup taken before the upgrade.',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Brings the schema up to date under an advisory lock, in one transaction; refuses a schema newer than the code. */
export async function migrate(engine: Engine, migrations: readonly string[] = MIGRATIONS): Promise<{ from: number; to: number }> {
  return engine.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query('CREATE TABLE IF NOT EXISTS gateway_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())');
    const [row] = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM gateway_schema');
    const from = row?.version ?? 0;
    if (from > migrations.length) throw new SchemaTooNewError(from, migrations.length);
    for (let version = from + 1; version <= migrations.length; version++) {
      await tx.exec(migrations[version - 1]!);
      await tx.query('INSERT INTO gateway_schema (version) VALUES ($1)', [version]);
    }
    return { from, to: migrations.length };
  });
}
