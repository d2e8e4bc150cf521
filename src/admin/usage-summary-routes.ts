import type { FastifyPluginAsync } from 'fastify';
import { invalidRequest } from '../errors.js';
import { toUsd, type Dimension, type MicroSums, type Rank, type UsageRepository } from '../store/usage-repo.js';
import { lastUsedQuery, usageSeriesQuery, usageSummaryQuery } from './bodies.js';
import { fromStore, parse } from './errors.js';

const DIMENSIONS: readonly Dimension[] = ['key', 'team', 'model'];
const FIELDS = ['requests', 'promptTokens', 'cachedTokens', 'cacheWriteTokens', 'completionTokens', 'reasoningTokens', 'costMicros'] as const;
const zero = (): MicroSums => ({ requests: 0, promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0, costMicros: 0 });

/** Adds `sums` times `sign` into `into`. */
function add(into: MicroSums, sums: MicroSums, sign = 1): MicroSums {
  for (const field of FIELDS) into[field] += sign * sums[field];
  return into;
}

/** How long which keys are drawn one by one is kept (ranking every key is the one answer that scans the ledger). */
export const KEY_RANKING_TTL_MS = 60_000;
/** Rankings kept at once (one per range and `top` asked). */
const KEY_RANKINGS = 16;
/** Keys with usage in a range past which its ranking is kept: below, ranking them costs a few milliseconds. */
export const KEEP_RANKING_OVER = 1_000;

function checkRange(query: { from: string; to: string }): void {
  if (query.from > query.to) throw invalidRequest('from must not be after to.', 'from', 'invalid_value');
}

/**
 * `/admin/usage/summary`, `/admin/usage/series` and `/admin/usage/last-used`: the ledger summed by the store (GROUP BY, the top groups by
 * LIMIT), so that an answer's size grows with `top` and the days, not with the number of keys. Teams, models
 * and totals are read from the rollup (the ledger summed over keys); keys from the ledger itself.
 */
export const usageSummaryRoutes: FastifyPluginAsync = async (app) => {
  const { store, ledger } = app.services;
  const read = async <T>(work: (usage: UsageRepository) => Promise<T>): Promise<T> => {
    // The ledger holds what was flushed; write what is pending first so the answer is as fresh as it can be.
    await ledger.flush();
    return fromStore(() => store.use((r) => work(r.usage)));
  };

  // Teams and models are ranked from the rollup at each answer. Keys are ranked by a GROUP BY over every key's
  // rows of the range (120-300 ms with 10,000 keys over 30 days), so with more than 1,000 keys which keys are
  // named is kept a minute per range and order; their sums, and the others', are read at each answer, so every
  // number is current.
  const keyRankings = new Map<string, { names: string[]; groups: number; until: number }>();
  const ranking = async (usage: UsageRepository, from: string, to: string, by: Dimension, rank: Rank, top: number): Promise<{ names: string[]; groups: number }> => {
    const made = async () => {
      const { rows, groups } = await usage.top(from, to, by, rank, top);
      return { names: rows.map((r) => r.name), groups };
    };
    if (by !== 'key') return made();
    const id = `${from}/${to}/${rank}/${top}`;
    const kept = keyRankings.get(id);
    if (kept !== undefined && kept.until > Date.now()) return kept;
    const fresh = { ...(await made()), until: Date.now() + KEY_RANKING_TTL_MS };
    if (fresh.groups <= KEEP_RANKING_OVER) return fresh;
    keyRankings.delete(id);
    keyRankings.set(id, fresh);
    if (keyRankings.size > KEY_RANKINGS) keyRankings.delete(keyRankings.keys().next().value!);
    return fresh;
  };

  /** The `top` keys by spend over the range, each with its sums (read now, through the ledger's index by key). */
  const topKeys = async (usage: UsageRepository, from: string, to: string, top: number) => {
    const { names, groups } = await ranking(usage, from, to, 'key', 'cost', top);
    const sums = new Map(names.map((name) => [name, zero()]));
    if (names.length > 0) for (const { name, date: _, ...row } of await usage.dailyOf(from, to, 'key', names)) add(sums.get(name)!, row);
    return { rows: names.map((name) => ({ name, ...sums.get(name)! })), groups };
  };

  app.get('/admin/usage/summary', async (request) => {
    const query = parse(usageSummaryQuery, request.query);
    checkRange(query);
    const { from, to, top } = query;
    const [days, ...tops] = await read((usage) =>
      Promise.all([usage.totalsByDay(from, to), topKeys(usage, from, to, top), usage.top(from, to, 'team', 'cost', top), usage.top(from, to, 'model', 'cost', top)]),
    );
    const ranked = (i: number) => tops[i]!.rows.map(({ name, ...sums }) => ({ [DIMENSIONS[i]!]: name, ...toUsd(sums) }));
    return {
      object: 'usage.summary',
      from,
      to,
      total: toUsd(days.reduce((total, d) => add(total, d), zero())),
      days: days.map(toUsd),
      top: { key: ranked(0), team: ranked(1), model: ranked(2) },
      groups: { key: tops[0]!.groups, team: tops[1]!.groups, model: tops[2]!.groups },
    };
  });

  app.get('/admin/usage/last-used', async (request) => {
    const { keys } = parse(lastUsedQuery, request.query);
    return { object: 'list', data: await read((usage) => usage.lastUsed(keys)) };
  });

  app.get('/admin/usage/series', async (request) => {
    const query = parse(usageSeriesQuery, request.query);
    checkRange(query);
    const { from, to, top, groupBy } = query;
    const { ranked, days, rows } = await read(async (usage) => {
      const ranked = await ranking(usage, from, to, groupBy, 'tokens', top);
      const names = ranked.names;
      const [days, rows] = await Promise.all([usage.totalsByDay(from, to), names.length === 0 ? [] : usage.dailyOf(from, to, groupBy, names)]);
      return { ranked, days, rows };
    });
    // Each day's others: the day's total less the named groups' rows of that day.
    const others = new Map(days.map(({ date, ...sums }) => [date, add(zero(), sums)]));
    for (const { date, name: _, ...sums } of rows) add(others.get(date) ?? zero(), sums, -1);
    const otherRows = ranked.groups > ranked.names.length ? [...others].map(([date, sums]) => ({ date, [groupBy]: null, ...toUsd(sums) })) : [];
    const named = rows.map(({ date, name, ...sums }) => ({ date, [groupBy]: name, ...toUsd(sums) }));
    return {
      object: 'list',
      groupBy,
      top: ranked.names,
      others: ranked.groups - ranked.names.length,
      data: [...named, ...otherRows].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)),
    };
  });
};
