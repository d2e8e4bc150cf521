// Launching the processes a bench run measures: mock upstream, reference hop, gateway, Redis.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { stringify as toYaml } from 'yaml';
import { getFreePort, sendCommand, startRedis, type RedisServer } from '../../test/helpers/redis.js';

export { getFreePort };

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Scratch space inside the checkout (git-ignored), so transpiled files still resolve node_modules. */
export const SCRATCH = join(ROOT, '.tmp', 'bench');

export interface Service {
  readonly name: string;
  readonly pid: number;
  /** Origin, such as http://127.0.0.1:PORT */
  readonly url: string;
  readonly child: ChildProcess;
  /** The last few KiB of the process's stderr (and stdout, when kept). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** GET this path (on `url`) until it answers, to know the process is ready. */
  readyPath: string;
  url: string;
  /** Raise the process's open-file limit to this (or as high as the hard limit allows). */
  fdLimit?: number;
  /** Keep stdout in output() rather than sending it to /dev/null (the gateway's request log goes there). */
  keepStdout?: boolean;
  /** How long it may take to answer `readyPath`; 30 s unless said. */
  readyWithinMs?: number;
}

/**
 * The command line that runs `command args` with its open-file limit raised to `limit`, or to the hard
 * limit when that is lower and the user may not raise it. `exec` keeps the pid (and an IPC channel), so
 * /proc readings still see the node process itself.
 */
export function withFdLimit(limit: number, command: string, args: string[]): [string, string[]] {
  const raise = `ulimit -n ${limit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  return ['bash', ['-c', raise, 'bash', command, ...args]];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Interrupted: exit properly, so the handler above (and Redis's) clean up.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Children killed when this process exits, however it exits. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Runs `command args` as a child process and resolves once `readyPath` answers over HTTP. */
export async function startService(name: string, command: string, args: string[], options: StartOptions): Promise<Service> {
  const [cmd, argv] = options.fdLimit === undefined ? [command, args] : withFdLimit(options.fdLimit, command, args);
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', options.keepStdout === true ? 'pipe' : 'ignore', 'pipe'],
  });
  live.add(child);
  let tail = '';
  const collect = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      collect(Buffer.from(`[spawn error] ${err.message}\n`));
      live.delete(child);
      resolve();
    });
  });

  const deadline = Date.now() + (options.readyWithinMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      await exited;
      throw new Error(`${name} exited before it was ready:\n${tail}`);
    }
    const ok = await fetch(options.url + options.readyPath).then(
      async (res) => (await res.arrayBuffer(), true),
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer ${options.readyPath} within ${(options.readyWithinMs ?? 30_000) / 1000} s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    name,
    pid: child.pid,
    url: options.url,
    child,
    output: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface MockOptions {
  streamChunks?: number;
  chunkDelayMs?: number;
  fdLimit?: number;
  /** Run src/mock/main.ts through tsx rather than the build (no `npm run build` needed). */
  fromSource?: boolean;
}

/** The project's mock upstream (compiled), on a free port. `url` is its origin; the API is under /v1. */
export async function startMock(options: MockOptions = {}): Promise<Service> {
  const port = await getFreePort();
  const args = [...(options.fromSource === true ? ['--import', 'tsx', 'src/mock/main.ts'] : ['dist/mock/main.js']), '--port', String(port)];
  args.push('--stream-chunks', String(options.streamChunks ?? 20), '--chunk-delay-ms', String(options.chunkDelayMs ?? 0));
  return startService('mock upstream', process.execPath, args, {
    url: `http://127.0.0.1:${port}`,
    readyPath: '/v1/models',
    fdLimit: options.fdLimit,
  });
}

/**
 * A bench script transpiled to plain JavaScript in SCRATCH (so it still resolves node_modules): running it
 * through tsx would add a loader thread and an esbuild process (about 20 MB of RSS) that the compiled
 * gateway does not carry. Returns the .mjs path.
 */
export function transpileToScratch(benchFile: string): string {
  mkdirSync(SCRATCH, { recursive: true });
  const source = readFileSync(join(ROOT, 'bench', benchFile), 'utf8');
  const compiled = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(SCRATCH, benchFile.replace(/\.ts$/, '.mjs'));
  writeFileSync(file, compiled.outputText);
  return file;
}

/**
 * The two bare Fastify + @fastify/reply-from hops: 'stream' (bench/reference-hop.ts, request bodies streamed
 * through unparsed, every path) and 'parse' (bench/reply-from-hop.ts, the issue's: Fastify's default JSON
 * parser, `POST /v1/*`, undici pool of 128 connections, keep-alive 60 s).
 */
export type HopKind = 'stream' | 'parse';
const HOP_FILES: Record<HopKind, string> = { stream: 'reference-hop.ts', parse: 'reply-from-hop.ts' };

export async function startReferenceHop(upstream: string, nodeArgs: string[] = [], kind: HopKind = 'stream'): Promise<Service> {
  const file = transpileToScratch(HOP_FILES[kind]);
  const port = await getFreePort();
  // readyPath: any answer will do (the 'parse' hop answers GET with 404).
  return startService(`${kind} hop`, process.execPath, [...nodeArgs, file, upstream, String(port)], {
    url: `http://127.0.0.1:${port}`,
    readyPath: '/v1/models',
  });
}

/** The precomputed fake upstream (bench/fake-upstream.ts) serving the answers recorded in `answersFile`. */
export async function startFakeUpstream(answersFile: string): Promise<Service> {
  const file = transpileToScratch('fake-upstream.ts');
  const port = await getFreePort();
  return startService('fake upstream', process.execPath, [file, answersFile, String(port)], {
    url: `http://127.0.0.1:${port}`,
    readyPath: '/v1/models',
  });
}

/** Whether `nginx` is installed (on PATH or in /usr/sbin, where Debian puts it). */
export function nginxBinary(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(candidate, ['-v']).error === undefined) return candidate;
  }
  return undefined;
}

/**
 * nginx as a plain reverse proxy in front of `upstream`: one process (no master), keep-alive connections
 * to the upstream, no buffering of requests or responses (streams pass through as they come), no access log.
 */
export async function startNginx(binary: string, upstream: string): Promise<Service> {
  const port = await getFreePort();
  const dir = join(SCRATCH, `nginx-${port}`);
  mkdirSync(dir, { recursive: true });
  const upstreamHost = new URL(upstream).host;
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend { server ${upstreamHost}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const nginx = await startService('nginx', binary, ['-p', dir, '-c', confFile], { url: `http://127.0.0.1:${port}`, readyPath: '/v1/models' });
  return { ...nginx, stop: () => nginx.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
}

/** The node flags of `npm start` (package.json's `start` script: `node <flags> dist/main.js`). */
export function startScriptNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.start ?? '';
  const match = /^node\s+(.*?)\s*dist\/main\.js/.exec(start);
  return match?.[1] === undefined || match[1] === '' ? [] : match[1].split(/\s+/);
}

export interface GatewayLaunch {
  config: Record<string, unknown>;
  port: number;
  redisUrl?: string;
  /** Extra node flags, such as --cpu-prof. */
  nodeArgs?: string[];
  /** Leave out the node flags of `npm start` (to measure what they bring). */
  withoutStartFlags?: boolean;
  fdLimit?: number;
  /** Run src/main.ts through tsx rather than the build (no `npm run build` needed). */
  fromSource?: boolean;
  /** A command that runs node, such as valgrind and its options: node and its arguments follow it. */
  wrapper?: string[];
  readyWithinMs?: number;
}

/** The gateway as `npm start` runs it (its node flags too), with `config` written as YAML; its request log goes to /dev/null. */
export async function startGateway(launch: GatewayLaunch): Promise<Service> {
  mkdirSync(SCRATCH, { recursive: true });
  const configPath = join(SCRATCH, `gateway-${launch.port}.yaml`);
  writeFileSync(configPath, toYaml(launch.config));
  const env: NodeJS.ProcessEnv = { GATEWAY_CONFIG: configPath };
  if (launch.redisUrl !== undefined) env.REDIS_URL = launch.redisUrl;
  const args = [...(launch.withoutStartFlags === true ? [] : startScriptNodeFlags()), ...(launch.nodeArgs ?? []), ...(launch.fromSource === true ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'])];
  const [command, ...commandArgs] = [...(launch.wrapper ?? []), process.execPath, ...args];
  const gateway = await startService('gateway', command!, commandArgs, {
    url: `http://127.0.0.1:${launch.port}`,
    readyPath: '/healthz',
    env,
    fdLimit: launch.fdLimit,
    readyWithinMs: launch.readyWithinMs,
  }).catch((err: unknown) => {
    rmSync(configPath, { force: true });
    throw err;
  });
  return { ...gateway, stop: () => gateway.stop().finally(() => rmSync(configPath, { force: true })) };
}

export interface BenchRedis {
  server: RedisServer;
  version: string;
  /** Clients connected to it right now, not counting the connection that asks. */
  clients(): Promise<number>;
}

/** A private redis-server on a free port when one is installed; undefined otherwise. */
export async function startRedisIfInstalled(): Promise<BenchRedis | undefined> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  const server = await startRedis();
  const version = /v=(\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
  return {
    server,
    version,
    async clients() {
      const info = await sendCommand(server.port, 'INFO clients');
      return Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 1) - 1;
    },
  };
}

/** Stops services in reverse start order, ignoring ones already gone. */
export async function stopAll(services: (Service | undefined)[]): Promise<void> {
  for (const service of [...services].reverse()) await service?.stop().catch(() => undefined);
}
