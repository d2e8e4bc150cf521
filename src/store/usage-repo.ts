import type { Engine } from './engine.js';

/** Usage to add to one ledger row: a UTC day, a key (its name, the `client_key` label), a model, the key's team. */
export interface UsageDelta {
  day: string;
  key: string;
  model: string;
  team: string;
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  /** Input tokens written to the prompt cache, a part of `promptTokens`. */
  cacheWriteTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costMicros: number;
}

export const GROUP_BYS = ['key', 'team', 'model', 'key,model'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export interface UsageRow {
  date: string;
  key?: string;
  team?: string;
  model?: string;
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

const GROUP_COLUMNS: Record<GroupBy, readonly ('key' | 'team' | 'model')[]> = { key: ['key'], team: ['team'], model: ['model'], 'key,model': ['key', 'model'] };
const SQL_COLUMN = { key: 'key_name', team: 'team', model: 'model' } as const;

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
      await tx.query(
        `INSERT INTO gateway_usage_daily AS u (day, key_name, model, team, requests, prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, reasoning_tokens, cost_micros)
         SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
         ON CONFLICT (day, key_name, model, team) DO UPDATE SET
           requests = u.requests + EXCLUDED.requests,
           prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
           cached_tokens = u.cached_tokens + EXCLUDED.cached_tokens,
           cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
           completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,
           reasoning_tokens = u.reasoning_tokens + EXCLUDED.reasoning_tokens,
           cost_micros = u.cost_micros + EXCLUDED.cost_micros`,
        [
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
        ],
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
      `SELECT to_char(day, 'YYYY-MM-DD') AS date, ${select},
         sum(requests)::float8 AS requests, sum(prompt_tokens)::float8 AS "promptTokens", sum(cached_tokens)::float8 AS "cachedTokens",
         sum(cache_write_tokens)::float8 AS "cacheWriteTokens", sum(completion_tokens)::float8 AS "completionTokens", sum(reasoning_tokens)::float8 AS "reasoningTokens", sum(cost_micros)::float8 AS "costMicros"
       FROM gateway_usage_daily WHERE day BETWEEN $1::date AND $2::date AND ($3::text[] IS NULL OR key_name = ANY($3::text[]))
       GROUP BY day, ${by} ORDER BY day, ${by}`,
      [from, to, keys ?? null],
    );
    return rows.map(({ costMicros, ...row }) => ({ ...row, costUsd: costMicros / 1e6 }));
  }

  /** Drops ledger rows older than `days` days, and batch ids long past any retry. */
  async prune(days: number): Promise<void> {
    await this.engine.query('DELETE FROM gateway_usage_daily WHERE day < current_date - $1::int', [days]);
    await this.engine.query("DELETE FROM gateway_usage_batches WHERE applied_at < clock_timestamp() - interval '30 days'");
  }
}
