import { z } from 'zod';

/** What a bad cursor is told. */
export const NOT_A_CURSOR = 'is not a cursor this list gave (pass next_cursor as it came)';

/** Most rows one page may hold. */
export const MAX_PAGE = 1_000;

/** A cursor is opaque to callers: the sort key of the last row served, as base64url JSON. */
export function encodeCursor(sortKey: readonly string[]): string {
  return Buffer.from(JSON.stringify(sortKey)).toString('base64url');
}

/** The sort key a cursor holds, or undefined when it is not one this API made (`width` strings, each short). */
export function decodeCursor(cursor: string, width: number): string[] | undefined {
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== width || !value.every((part) => typeof part === 'string' && part.length <= 200)) return undefined;
    return value as string[];
  } catch {
    return undefined;
  }
}

/** `limit` and `cursor` of a list route; without `limit` a list answers every row, as it did before paging. */
export function pageQuery(width: number) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    cursor: z
      .string()
      .transform((cursor, ctx) => {
        const key = decodeCursor(cursor, width);
        if (key === undefined) ctx.addIssue({ code: 'custom', message: NOT_A_CURSOR });
        return key ?? [];
      })
      .optional(),
  });
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Compares two sort keys part by part, by code unit (the same order on every instance and engine). */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Sorts in place by `sortKey`, ascending. */
export function sortBy<T>(items: T[], sortKey: (item: T) => readonly string[]): T[] {
  return items.sort((a, b) => compareKeys(sortKey(a), sortKey(b)));
}

/** How a list is walked: its sort key ascending, or descending; `tag` leads each cursor (what the cursor was made for). */
export interface PageOrder {
  descending?: boolean;
  tag?: readonly string[];
}

/**
 * One page of `sorted` (ascending by `sortKey`), keyset-paged, walked from either end: the rows that `matches`
 * after the cursor's sort key. A row added or removed between two pages moves no other row, so a walk over the
 * pages sees every row that was there throughout exactly once. `total` counts the matching rows (one pass in
 * memory). The cursor given is the sort key alone (its tag already checked and removed).
 */
export function pageOf<T>(
  sorted: readonly T[],
  sortKey: (item: T) => readonly string[],
  matches: (item: T) => boolean,
  query: { limit?: number | undefined; cursor?: string[] | undefined },
  order: PageOrder = {},
): Page<T> & { total: number } {
  const rows = order.descending === true ? [...sorted].reverse() : sorted;
  const sign = order.descending === true ? -1 : 1;
  let start = 0;
  if (query.cursor !== undefined) {
    // The first row whose key is past the cursor's, in the walk's direction.
    let high = rows.length;
    while (start < high) {
      const middle = (start + high) >>> 1;
      if (sign * compareKeys(sortKey(rows[middle]!), query.cursor) <= 0) start = middle + 1;
      else high = middle;
    }
  }
  const limit = query.limit ?? Number.POSITIVE_INFINITY;
  const data: T[] = [];
  let total = 0;
  let more = false;
  for (let i = 0; i < rows.length; i++) {
    const item = rows[i]!;
    if (!matches(item)) continue;
    total++;
    if (i < start) continue;
    if (data.length < limit) data.push(item);
    else more = true;
  }
  const last = data.at(-1);
  const nextCursor = more && last !== undefined ? encodeCursor([...(order.tag ?? []), ...sortKey(last)]) : null;
  return { data, has_more: more, next_cursor: nextCursor, total };
}
