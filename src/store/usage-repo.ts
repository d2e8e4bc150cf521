import { DAY_MS } from '../time-windows.js';
import type { Engine } from './engine.js';

/** The counts a ledger row adds up. */
export interface UsageCounts {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  /** Input tokens written to the prompt cache, a part of `promptTokens`. */
  cacheWriteTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

/** Usage to add to one ledger row: a UTC day, a key (its name, the `client_key` label), a model, the key's team. */
export interface UsageDelta extends UsageCounts {
  day: string;
  key: string;
  model: string;
  team: string;
  costMicros: number;
}

export const GROUP_BYS = ['key', 'team', 'model', 'key,model'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export interface UsageRow extends UsageCounts {
  date: string;
  key?: string;
  team?: string;
  model?: string;
  costUsd: number;
}

export type Dimension = 'key' | 'team' | 'model';
/** What a group's usage is ranked by: its spend, or its tokens (prompt and completion). */
export type Rank = 'cost' | 'tokens';

/** A ledger sum with its cost still in micro-dollars (exact, so that sums can be subtracted). */
export type MicroSums = Omit<UsageRow, 'date' | Dimension | 'costUsd'> & { costMicros: number };

const GROUP_COLUMNS: Record<GroupBy, readonly Dimension[]> = { key: ['key'], team: ['team'], model: ['model'], 'key,model': ['key', 'model'] };
const SQL_COLUMN = { key: 'key_name', team: 'team', model: 'model' } as const;
/** Where a dimension's sums are read: teams and models from the rollup (no key there), keys from the ledger. */
const SOURCE = { key: 'gateway_usage_daily', team: 'gateway_usage_rollup', model: 'gateway_usage_rollup' } as const;
const RANK_SQL = { cost: 'sum(cost_micros)', tokens: 'sum(prompt_tokens + completion_tokens)' } as const;
const SUMS = `sum(requests)::float8 AS requests, sum(prompt_tokens)::float8 AS "promptTokens", sum(cached_tokens)::float8 AS "cachedTokens",
  sum(cache_write_tokens)::float8 AS "cacheWriteTokens", sum(completion_tokens)::float8 AS "completionTokens",
  sum(reasoning_tokens)::float8 AS "reasoningTokens", sum(cost_micros)::float8 AS "costMicros"`;
/** The ledger's and the rollup's counted columns, in the order of a batch's arrays after its day, key, model and team. */
const SUM_COLUMNS = ['requests', 'prompt_tokens', 'cached_tokens', 'cache_write_tokens', 'completion_tokens', 'reasoning_tokens', 'cost_micros'];
const ADD_EXCLUDED = SUM_COLUMNS.map((c) => `${c} = u.${c} + EXCLUDED.${c}`).join(', ');

export const toUsd = <T extends { costMicros: number }>({ costMicros, ...row }: T): Omit<T, 'costMicros'> & { costUsd: number } => ({ ...row, costUsd: costMicros / 1e6 });

/** The daily usage ledger: one row per UTC day × key × model × team, grown by batches applied at most once. */
export class UsageRepository {
  constructor(private readonly engine: Engine) {}

  /**
   * Adds a batch's rows, unless the batch was applied before (its id is recorded in the same transaction), so a
   * retry after a lost acknowledgement never counts twice. Answers whether it added them.
   */
  async apply(batchId: string, rows: readonly UsageDelta[]): Promise<boolean> {
    return this.engine.transaction(async (tx) => {
      const fresh = await tx.query('INSERT INTO gateway_usage_batches (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id', [batchId]);
      if (fresh.length === 0) return false;
      const column = <K extends keyof UsageDelta>(k: K): UsageDelta[K][] => rows.map((r) => r[k]);
      const names = ['day', 'key_name', 'model', 'team', ...SUM_COLUMNS].join(', ');
      const columns = [
        column('day'),
        column('key'),
        column('model'),
        column('team'),
        column('requests'),
        column('promptTokens'),
        column('cachedTokens'),
        column('cacheWriteTokens'),
        column('completionTokens'),
        column('reasoningTokens'),
        column('costMicros'),
      ];
      const batch = `unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
        AS b (${names})`;
      await tx.query(`INSERT INTO gateway_usage_daily AS u (${names}) SELECT * FROM ${batch} ON CONFLICT (day, key_name, model, team) DO UPDATE SET ${ADD_EXCLUDED}`, columns);
      await tx.query(
        `INSERT INTO gateway_usage_rollup AS u (day, team, model, ${SUM_COLUMNS.join(', ')})
         SELECT day, team, model, ${SUM_COLUMNS.map((c) => `sum(${c})`).join(', ')}
         FROM ${batch} GROUP BY day, team, model
         ON CONFLICT (day, team, model) DO UPDATE SET ${ADD_EXCLUDED}`,
        columns,
      );
      return true;
    });
  }

  /** Sums per day and group from `from` to `to` (UTC days, both included); of the keys named in `keys` only, when given. */
  async daily(from: string, to: string, groupBy: GroupBy, keys?: readonly string[]): Promise<UsageRow[]> {
    const groups = GROUP_COLUMNS[groupBy];
    const select = groups.map((g) => `${SQL_COLUMN[g]} AS "${g}"`).join(', ');
    const by = groups.map((g) => SQL_COLUMN[g]).join(', ');
    const rows = await this.engine.query<Omit<UsageRow, 'costUsd'> & { costMicros: number }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS date, ${select}, ${SUMS}
       FROM gateway_usage_daily WHERE day BETWEEN $1::date AND $2::date AND ($3::text[] IS NULL OR key_name = ANY($3::text[]))
       GROUP BY day, ${by} ORDER BY day, ${by}`,
      [from, to, keys ?? null],
    );
    return rows.map(toUsd);
  }

  /**
   * The rows of daily(), one day at a time, in order, so that a long range is read in pieces and never held
   * whole (each day is read through the ledger's primary key, which starts with the day).
   */
  async *dailyByDay(from: string, to: string, groupBy: GroupBy, keys: readonly string[] | undefined): AsyncGenerator<UsageRow[]> {
    for (let day = Date.parse(`${from}T00:00:00Z`); day <= Date.parse(`${to}T00:00:00Z`); day += DAY_MS) {
      const date = new Date(day).toISOString().slice(0, 10);
      const rows = await this.daily(date, date, groupBy, keys);
      if (rows.length > 0) yield rows;
    }
  }

  /** The `limit` groups of `by` with the most spend or tokens from `from` to `to`, each with its sums, and how many groups had usage. */
  async top(from: string, to: string, by: Dimension, rank: Rank, limit: number): Promise<{ rows: (MicroSums & { name: string })[]; groups: number }> {
    const column = SQL_COLUMN[by];
    const rows = await this.engine.query<MicroSums & { name: string; groups: number }>(
      `SELECT ${column} AS name, ${SUMS}, count(*) OVER ()::int AS groups
       FROM ${SOURCE[by]} WHERE day BETWEEN $1::date AND $2::date
       GROUP BY ${column} ORDER BY ${RANK_SQL[rank]} DESC, ${column} LIMIT $3::int`,
      [from, to, limit],
    );
    return { rows: rows.map(({ groups: _, ...row }) => row), groups: rows[0]?.groups ?? 0 };
  }

  /** Sums per day over every key from `from` to `to` (read from the rollup). */
  async totalsByDay(from: string, to: string): Promise<(MicroSums & { date: string })[]> {
    return this.engine.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS date, ${SUMS} FROM gateway_usage_rollup WHERE day BETWEEN $1::date AND $2::date GROUP BY day ORDER BY day`,
      [from, to],
    );
  }

  /** Sums per day of the named groups of `by` only. */
  async dailyOf(from: string, to: string, by: Dimension, names: readonly string[]): Promise<(MicroSums & { date: string; name: string })[]> {
    const column = SQL_COLUMN[by];
    return this.engine.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS date, ${column} AS name, ${SUMS}
       FROM ${SOURCE[by]} WHERE ${column} = ANY($3::text[]) AND day BETWEEN $1::date AND $2::date
       GROUP BY day, ${column} ORDER BY day, ${column}`,
      [from, to, names],
    );
  }

  /** The last day each of `keys` made a request, as far back as the ledger goes (through its index by key); keys never used are left out. */
  async lastUsed(keys: readonly string[]): Promise<{ key: string; date: string }[]> {
    return this.engine.query(
      `SELECT key_name AS key, to_char(max(day), 'YYYY-MM-DD') AS date FROM gateway_usage_daily
       WHERE key_name = ANY($1::text[]) AND requests > 0 GROUP BY key_name ORDER BY key_name`,
      [keys],
    );
  }

  /** Drops ledger rows older than `days` days, and batch ids long past any retry. */
  async prune(days: number): Promise<void> {
    await this.engine.query('DELETE FROM gateway_usage_daily WHERE day < current_date - $1::int', [days]);
    await this.engine.query('DELETE FROM gateway_usage_rollup WHERE day < current_date - $1::int', [days]);
    await this.engine.query("DELETE FROM gateway_usage_batches WHERE applied_at < clock_timestamp() - interval '30 days'");
  }
}
