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

/**
 * One page of `sorted` (ascending by `sortKey`), keyset-paged: the rows that `matches` after the cursor's sort
 * key. A row added or removed between two pages moves no other row, so a walk over the pages sees every row
 * that was there throughout exactly once. `total` counts the matching rows (one pass in memory).
 */
export function pageOf<T>(
  sorted: readonly T[],
  sortKey: (item: T) => readonly string[],
  matches: (item: T) => boolean,
  query: { limit?: number | undefined; cursor?: string[] | undefined },
): Page<T> & { total: number } {
  let start = 0;
  if (query.cursor !== undefined) {
    // The first row whose key is past the cursor's.
    let high = sorted.length;
    while (start < high) {
      const middle = (start + high) >>> 1;
      if (compareKeys(sortKey(sorted[middle]!), query.cursor) <= 0) start = middle + 1;
      else high = middle;
    }
  }
  const limit = query.limit ?? Number.POSITIVE_INFINITY;
  const data: T[] = [];
  let total = 0;
  let more = false;
  for (let i = 0; i < sorted.length; i++) {
    const item = sorted[i]!;
    if (!matches(item)) continue;
    total++;
    if (i < start) continue;
    if (data.length < limit) data.push(item);
    else more = true;
  }
  const last = data.at(-1);
  return { data, has_more: more, next_cursor: more && last !== undefined ? encodeCursor(sortKey(last)) : null, total };
}
