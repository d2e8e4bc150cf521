import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { invalidRequest } from '../errors.js';
import type { UsageRow } from '../store/usage-repo.js';
import { auditQuery, usageQuery } from './bodies.js';
import { fromStore, parse } from './errors.js';
import { encodeCursor, NOT_A_CURSOR } from './paging.js';

const NUMBERS = ['requests', 'promptTokens', 'cachedTokens', 'cacheWriteTokens', 'completionTokens', 'reasoningTokens', 'costUsd'] as const;

/** A CSV cell: quoted when it holds a comma, a quote or a line break (names cannot, but be safe). */
function cell(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV of the ledger's rows, a piece at a time: the header, then each page of rows as the store gives it. */
export async function* usageCsv(pages: AsyncIterable<readonly UsageRow[]>, groups: readonly string[]): AsyncGenerator<string> {
  const columns = ['date', ...groups, ...NUMBERS];
  yield `${columns.join(',')}\r\n`;
  for await (const rows of pages) {
    yield rows.map((row) => `${columns.map((c) => cell((row as unknown as Record<string, string | number>)[c] ?? '')).join(',')}\r\n`).join('');
  }
}

/** `/admin/audit` and `/admin/usage/daily`: read from the store (503 while it is down). */
export const reportsRoutes: FastifyPluginAsync = async (app) => {
  const { store } = app.services;

  app.get('/admin/audit', async (request) => {
    const { since, limit, cursor } = parse(auditQuery, request.query);
    const beforeId = cursor?.[0];
    if (beforeId !== undefined && !/^[0-9]{1,18}$/.test(beforeId)) throw invalidRequest(`cursor: ${NOT_A_CURSOR}`, 'cursor', 'invalid_value');
    // One row more than the page tells whether another page follows.
    const rows = await fromStore(() => store.use((r) => r.audit(since, limit + 1, beforeId)));
    const data = rows.slice(0, limit);
    const more = rows.length > limit;
    return { object: 'list', data, has_more: more, next_cursor: more ? encodeCursor([data.at(-1)!.id]) : null };
  });

  app.get('/admin/usage/daily', async (request, reply) => {
    const query = parse(usageQuery, request.query);
    if (query.from > query.to) throw invalidRequest('from must not be after to.', 'from', 'invalid_value');
    // The ledger holds what was flushed; write what is pending first so the answer is as fresh as it can be.
    await app.services.ledger.flush();
    if (query.format === 'csv') {
      // Streamed, a day of rows at a time: every row of the range, however many keys, without holding them all.
      // The first day is read before the answer starts, so that a store that is down is still a 503.
      const pages = await fromStore(() => store.use(async (r) => {
        const reader = r.usage.dailyByDay(query.from, query.to, query.groupBy, query.keys);
        const first = await reader.next();
        return { first, reader };
      }));
      const all = async function* (): AsyncGenerator<readonly UsageRow[]> {
        if (pages.first.done === true) return;
        yield pages.first.value;
        yield* pages.reader;
      };
      const csv = Readable.from(usageCsv(all(), query.groupBy.split(',')));
      csv.on('error', (err) => request.log.error({ err: err.message }, 'usage CSV cut short: the store failed while it was read'));
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="usage-${query.from}-${query.to}.csv"`).send(csv);
    }
    const rows = await fromStore(() => store.use((r) => r.usage.daily(query.from, query.to, query.groupBy, query.keys)));
    return { object: 'list', data: rows };
  });
};
