import type { AuditEntry } from './records.js';
import type { Sql } from './engine.js';

/**
 * Every write to keys or teams runs through here, in its transaction: its audit entry, and the change counter
 * the instances poll, so the change is in force everywhere once committed.
 */
export async function recordChange(tx: Sql, by: string, action: string, target: string, changes: Record<string, unknown>): Promise<void> {
  await tx.query('INSERT INTO gateway_audit (by_name, action, target, changes) VALUES ($1, $2, $3, $4::jsonb)', [by, action, target, JSON.stringify(changes)]);
  await tx.query('UPDATE gateway_changes SET version = version + 1 WHERE id = 1');
}

/** The counter `recordChange` bumps: an instance that sees it move reloads keys and teams. */
export async function changeVersion(sql: Sql): Promise<number> {
  const [row] = await sql.query<{ version: string }>('SELECT version::text AS version FROM gateway_changes WHERE id = 1');
  return Number(row?.version ?? 0);
}

/** The admin audit, newest first; after `beforeId`, the entries that come after that one in this order. */
export async function auditEntries(sql: Sql, since: string | undefined, limit: number, beforeId?: string): Promise<AuditEntry[]> {
  const rows = await sql.query<{ id: string; at: Date; by_name: string; action: string; target: string; changes: Record<string, unknown> }>(
    `SELECT id::text AS id, at, by_name, action, target, changes FROM gateway_audit
     WHERE ($1::timestamptz IS NULL OR at >= $1::timestamptz)
       AND ($3::bigint IS NULL OR (at, id) < (SELECT at, id FROM gateway_audit WHERE id = $3::bigint))
     ORDER BY at DESC, id DESC LIMIT $2`,
    [since ?? null, limit, beforeId ?? null],
  );
  return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), by: r.by_name, action: r.action, target: r.target, changes: r.changes }));
}

/** A JSON column's parameter: objects and lists as JSON text, null as SQL NULL. */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}
