/**
 * Real Redis processes for tests.
 *
 * Every server is a `redis-server` child process on 127.0.0.1 and a random free port,
 * configured entirely on the command line (no persistence, temp working dir). Nothing
 * is ever skipped: when `redis-server` is missing the helpers throw a loud error.
 *
 * Every spawned process is tracked and SIGKILLed when the test process exits, and
 * every temp dir is removed, so no stray servers outlive the test run.
 */
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  /** SIGTERM, then wait for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, then wait for the process to exit: simulates a crash. */
  kill(): Promise<void>;
  /** Start again on the SAME port after stop/kill; resolves once it answers PING. */
  start(): Promise<void>;
}

export interface RedisCluster {
  readonly nodes: { host: string; port: number }[];
  readonly urls: string[];
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const CLUSTER_OK_TIMEOUT_MS = 20_000;
const OUTPUT_TAIL_CHARS = 4_000;
const MAX_PORT_ATTEMPTS = 5;

export const REDIS_MISSING_MESSAGE =
  'redis-server not found on PATH: these tests need a real Redis. ' +
  'Run `bash scripts/ensure-redis.sh` (which `npm test` runs) ' +
  "or install Debian's redis-server package (apt-get install -y redis-server).";

// ---------------------------------------------------------------------------
// Process tracking and cleanup on exit
// ---------------------------------------------------------------------------

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveProcesses) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    liveProcesses.clear();
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
    liveDirs.clear();
  });
}

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Binary check
// ---------------------------------------------------------------------------

let redisChecked = false;

/** Throws the loud "redis-server not found" error unless `redis-server --version` runs. */
export function assertRedisAvailable(): void {
  if (redisChecked) return;
  const res = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    const detail = res.error ? res.error.message : `exit status ${String(res.status)}: ${res.stderr}`;
    throw new Error(`${REDIS_MISSING_MESSAGE} (${detail})`);
  }
  redisChecked = true;
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/** A port that was free a moment ago (bind to port 0, read it, close). */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

// ---------------------------------------------------------------------------
// Minimal RESP client over a raw socket (inline commands)
// ---------------------------------------------------------------------------

/** Sends one inline command and returns the reply's payload (simple or bulk string). */
export function sendCommand(port: number, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: HOST, port });
    let buf = '';
    let settled = false;
    const finish = (err: Error | null, value?: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`timeout waiting for reply to ${command}`)));
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`connection closed before reply to ${command}`)));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const first = buf.slice(0, eol);
      const kind = first[0];
      if (kind === '+' || kind === ':') {
        finish(null, first.slice(1));
      } else if (kind === '-') {
        finish(new Error(`redis error reply to ${command}: ${first.slice(1)}`));
      } else if (kind === '$') {
        const len = Number(first.slice(1));
        if (len < 0) {
          finish(null, '');
          return;
        }
        const body = Buffer.from(buf.slice(eol + 2), 'utf8');
        if (body.length >= len) finish(null, body.subarray(0, len).toString('utf8'));
      } else {
        finish(new Error(`unexpected reply to ${command}: ${JSON.stringify(first)}`));
      }
    });
  });
}

async function ping(port: number): Promise<boolean> {
  try {
    return (await sendCommand(port, 'PING', 1_000)) === 'PONG';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// One redis-server process
// ---------------------------------------------------------------------------

class AddressInUseError extends Error {}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  hasExited(): boolean;
  output(): string;
}

function spawnRedisProcess(port: number, dir: string, extraArgs: string[]): Proc {
  assertRedisAvailable();
  installExitHook();
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--dir', dir,
    ...extraArgs,
  ];
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  liveProcesses.add(child);
  let tail = '';
  const collect = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let done = false;
  const exited = new Promise<void>((resolve) => {
    const onDone = (): void => {
      done = true;
      liveProcesses.delete(child);
      resolve();
    };
    child.once('exit', onDone);
    child.once('error', (err) => {
      collect(Buffer.from(`\n[spawn error] ${err.message}\n`));
      onDone();
    });
  });
  return { child, exited, hasExited: () => done, output: () => tail };
}

async function waitUntilReady(proc: Proc, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited()) {
      const out = proc.output();
      if (/address already in use/i.test(out)) {
        throw new AddressInUseError(`port ${port} already in use`);
      }
      throw new Error(
        `redis-server on port ${port} exited before answering PING ` +
          `(code ${String(proc.child.exitCode)}, signal ${String(proc.child.signalCode)}). Output tail:\n${out}`,
      );
    }
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      await terminate(proc, 'SIGKILL');
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms. Output tail:\n${proc.output()}`,
      );
    }
    await sleep(50);
  }
}

async function terminate(proc: Proc, signal: NodeJS.Signals): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill(signal);
  const timer = new Promise<'timeout'>((r) => {
    const t = setTimeout(() => r('timeout'), EXIT_TIMEOUT_MS);
    t.unref();
  });
  if ((await Promise.race([proc.exited.then(() => 'exited' as const), timer])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/**
 * Start a redis-server on a free port (a fresh one per attempt, retried on EADDRINUSE)
 * or on `fixedPort` (no retry); `extraArgs` gets the port being tried.
 */
async function launch(
  dir: string,
  extraArgs: (port: number) => string[] | Promise<string[]>,
  fixedPort?: number,
): Promise<{ proc: Proc; port: number }> {
  let lastErr: unknown;
  const attempts = fixedPort === undefined ? MAX_PORT_ATTEMPTS : 1;
  for (let i = 0; i < attempts; i++) {
    const port = fixedPort ?? (await getFreePort());
    const proc = spawnRedisProcess(port, dir, await extraArgs(port));
    try {
      await waitUntilReady(proc, port);
      return { proc, port };
    } catch (err) {
      lastErr = err;
      await terminate(proc, 'SIGKILL');
      if (!(err instanceof AddressInUseError)) throw err;
    }
  }
  throw new Error(`could not start redis-server: ${String(lastErr)}`);
}

/** Start a standalone Redis on a random free port. */
export async function startRedis(): Promise<RedisServer> {
  assertRedisAvailable();
  let dir = makeTempDir('redis-test-');
  const first = await launch(dir, () => []).catch((err: unknown) => {
    removeTempDir(dir);
    throw err;
  });
  const port = first.port;
  let proc: Proc | null = first.proc;

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    proc = null;
    if (p) await terminate(p, signal);
    removeTempDir(dir);
  };

  return {
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async start() {
      if (proc && !proc.hasExited()) return;
      dir = makeTempDir('redis-test-');
      try {
        proc = (await launch(dir, () => [], port)).proc;
      } catch (err) {
        removeTempDir(dir);
        throw err;
      }
    },
  };
}

function runRedisCli(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve(`${stdout}${stderr}`);
      }
    });
  });
}

/** Start an N-node (default 3, minimum 3) Redis Cluster of masters, all slots assigned. */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  assertRedisAvailable();
  if (!Number.isInteger(size) || size < 3) {
    throw new Error(`a Redis Cluster needs at least 3 masters (got ${size})`);
  }
  const members: { proc: Proc; port: number; dir: string }[] = [];
  const stopAll = async (signal: NodeJS.Signals): Promise<void> => {
    const all = members.splice(0);
    await Promise.all(all.map((m) => terminate(m.proc, signal)));
    for (const m of all) removeTempDir(m.dir);
  };

  try {
    for (let i = 0; i < size; i++) {
      const dir = makeTempDir('redis-cluster-test-');
      // The cluster bus normally uses port+10000, which may be taken or past 65535:
      // give it its own free port instead (cluster-port, Redis >= 7).
      let started: { proc: Proc; port: number };
      try {
        started = await launch(dir, async (port) => {
          let bus = await getFreePort();
          while (bus === port) bus = await getFreePort();
          return [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', '2000',
            '--cluster-port', String(bus),
          ];
        });
      } catch (err) {
        removeTempDir(dir);
        throw err;
      }
      members.push({ ...started, dir });
    }

    const ports = members.map((m) => m.port);
    await runRedisCli([
      '--cluster', 'create',
      ...ports.map((p) => `${HOST}:${p}`),
      '--cluster-replicas', '0',
      '--cluster-yes',
    ]);

    const deadline = Date.now() + CLUSTER_OK_TIMEOUT_MS;
    for (const port of ports) {
      for (;;) {
        const info = await sendCommand(port, 'CLUSTER INFO').catch((err: unknown) => String(err));
        if (/cluster_state:ok/.test(info)) break;
        if (Date.now() > deadline) {
          throw new Error(`cluster node ${HOST}:${port} not ok after ${CLUSTER_OK_TIMEOUT_MS} ms:\n${info}`);
        }
        await sleep(100);
      }
    }
  } catch (err) {
    await stopAll('SIGKILL');
    throw err;
  }

  const nodes = members.map((m) => ({ host: HOST, port: m.port }));
  return {
    nodes,
    urls: nodes.map((n) => `redis://${n.host}:${n.port}`),
    stop: () => stopAll('SIGTERM'),
  };
}
