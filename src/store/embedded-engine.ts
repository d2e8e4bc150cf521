import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { Engine, Sql } from './engine.js';

/** Opens (creating it when the folder is empty) the PGlite cluster in `dir`. Loaded only when used. */
export async function openPglite(dir: string): Promise<PGlite> {
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create(dir);
}

/** The store's engine over an open PGlite. */
export function pgliteEngine(db: PGlite): Engine {
  const sql = (target: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    query: async <Row>(text: string, params?: readonly unknown[]) => (await target.query<Row>(text, params as unknown[] | undefined)).rows,
    exec: async (script) => void (await target.exec(script)),
  });
  return {
    kind: 'embedded',
    ...sql(db),
    transaction: <T>(work: (tx: Sql) => Promise<T>): Promise<T> => db.transaction((tx) => work(sql(tx))),
    close: () => db.close(),
  };
}

/**
 * PGlite: PostgreSQL compiled to WASM, in this process, its data in `dir`. It runs the same SQL and migrations
 * as a real PostgreSQL, for a single instance. Loaded only when used, so a gateway without a store pays nothing.
 */
export async function embeddedEngine(dir: string): Promise<Engine> {
  return pgliteEngine(await openPglite(dir));
}
