import pg from 'pg';
import type { Engine, Sql } from './engine.js';

/** Small on purpose: the store is off the request path and sees admin writes, polls and ledger batches only. */
const POOL_SIZE = 4;

/** A PostgreSQL shared by every instance, through a `pg` pool that reconnects on its own. */
export function postgresEngine(url: string, onError: (err: Error) => void): Engine {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: 3_000,
    query_timeout: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits here; unhandled, it would end the process.
  pool.on('error', onError);
  const run = async <Row>(client: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]): Promise<Row[]> => {
    const result = await client.query(text, params as unknown[] | undefined);
    return result.rows as Row[];
  };
  const sql = (client: pg.Pool | pg.PoolClient): Sql => ({
    query: (text, params) => run(client, text, params),
    // Without parameters, pg sends the simple protocol, which takes several statements.
    exec: async (script) => void (await client.query(script)),
  });
  return {
    kind: 'postgres',
    ...sql(pool),
    async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await work(sql(client));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
