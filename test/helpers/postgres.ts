/**
 * Real PostgreSQL servers for tests: a cluster of its own per server, made with `initdb` in a temp folder and
 * run as a child process on 127.0.0.1 and a free port, trust authentication, no fsync. Run as root, the
 * cluster belongs to the `postgres` user (initdb refuses root). Nothing is skipped: missing binaries throw.
 * Every process is SIGKILLed and every folder removed when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getFreePort } from './redis.js';

export interface PostgresServer {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** Fast shutdown (SIGINT), then wait for the process to exit. */
  stop(): Promise<void>;
  /** Start again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and removes its cluster. */
  remove(): Promise<void>;
}

export const POSTGRES_MISSING_MESSAGE =
  'PostgreSQL server binaries (initdb, postgres) not found: these tests need a real PostgreSQL. ' +
  "Run `bash scripts/ensure-postgres.sh` (which `npm test` runs) or install Debian's postgresql package.";

/** initdb and postgres live in /usr/lib/postgresql/<version>/bin on Debian, off PATH. */
export function postgresBinDir(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath !== '') {
    const dir = path.dirname(onPath);
    if (existsSync(path.join(dir, 'postgres'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no "postgres" user to own the test cluster');
  return { uid, gid };
}

async function acceptsConnections(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL on port ${port} did not start in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(POSTGRES_MISSING_MESSAGE);
  const owner = postgresUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-pg-'));
  dirs.add(dir);
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    encoding: 'utf8',
    ...(owner ?? {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  const port = await getFreePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const proc = spawn(
      path.join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) },
    );
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    child = proc;
    try {
      await acceptsConnections(port, Date.now() + 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${output.slice(-4000)}`);
    }
    // The port answers before the server takes queries; wait for "ready to accept connections".
    const deadline = Date.now() + 20_000;
    while (!output.includes('ready to accept connections')) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL never said it was ready:\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}
