import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import type { Engine, Sql } from './engine.js';

/**
 * PostgreSQL settings on top of PGlite's own (`PGlite.defaultStartParams`: single user, one process). Its shared
 * buffers, PostgreSQL's 128MB default, are all resident from the start (WASM memory is allocated and zeroed by
 * PGlite's mmap): the store's tables are small and the buffer pool reads misses from the OS's page cache, so
 * 16MB holds what it reads often and saves the gateway about 110 MiB. Durability is PGlite's, unchanged.
 */
const SETTINGS = ['shared_buffers=16MB'];

/**
 * Run by a `node` of its own (ESM, through `--eval`): creates the cluster (initdb) with the same settings, then
 * exits. initdb grows WASM memory, which never shrinks, to several hundred MiB; done in this process it would
 * stay resident for good (about 750 MiB on the first start against 300 on a restart).
 */
const CREATE_CLUSTER = `
const [pgliteUrl, dir, startParams] = process.argv.slice(1);
const { PGlite } = await import(pgliteUrl);
const db = await PGlite.create(dir, { startParams: JSON.parse(startParams) });
await db.close();
`;

async function createCluster(dir: string, startParams: readonly string[]): Promise<void> {
  const args = ['--input-type=module', '--eval', CREATE_CLUSTER, import.meta.resolve('@electric-sql/pglite'), dir, JSON.stringify(startParams)];
  try {
    await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 2 ** 20 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`creating the embedded database in ${dir} failed: ${stderr || (err as Error).message}`);
  }
}

/** Opens the PGlite cluster in `dir`, creating it first (in a process of its own) when there is none. */
export async function openPglite(dir: string): Promise<PGlite> {
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, ...SETTINGS.flatMap((setting) => ['-c', setting])];
  if (!existsSync(join(dir, 'PG_VERSION'))) await createCluster(dir, startParams);
  return PGlite.create(dir, { startParams });
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
