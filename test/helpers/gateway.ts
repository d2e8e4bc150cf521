import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { afterAll, beforeAll } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from './mock-upstream.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLIENT_KEY = 'gw-test-key-alpha';
/** The Node flags `npm start` and the image run the gateway with; gateway processes in tests use them too. */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=16'];

/** A config for tests: one client key, one pool on `upstreamUrl` with the given accounts. */
export function testConfig(upstreamUrl: string, overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    logLevel: 'info',
    clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY }],
    upstreams: [{ name: 'mock', baseUrl: upstreamUrl, models: ['*'], accounts: [{ name: 'acct-a', apiKey: 'sk-upstream-secret-a-0123456789' }] }],
    ...overrides,
  };
}

export interface LogCapture {
  readonly lines: Record<string, unknown>[];
  readonly text: string[];
  write(line: string): void;
}

export function captureLogs(): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  return {
    lines,
    text,
    write(line: string) {
      text.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

export interface RunningGateway {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Base URL for an OpenAI client: `${url}/v1`. */
  readonly baseURL: string;
  readonly logs: LogCapture;
  client(apiKey?: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
  close(): Promise<void>;
}

/** Builds a gateway in this process and listens on a free loopback port. */
export async function startGateway(
  config: GatewayConfigInput,
  env: NodeJS.ProcessEnv = {},
  options: Omit<BuildOptions, 'logStream'> = {},
): Promise<RunningGateway> {
  const logs = captureLogs();
  const app = await buildApp(parseConfig(config, env), { ...options, logStream: logs });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('gateway has no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    baseURL: `${url}/v1`,
    logs,
    client: (apiKey = CLIENT_KEY, options = {}) => new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0, ...options }),
    close: () => app.close(),
  };
}

export interface GatewayProcess {
  readonly url: string;
  readonly baseURL: string;
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr. */
  readonly output: string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The YAML file the process reads its config from (removed when it exits). */
  readonly configPath: string;
  /** Rewrites the config file, for a reload (`signal('SIGHUP')`). */
  writeConfig(config: GatewayConfigInput): void;
  /** Sends a signal without waiting for anything. */
  signal(signal: NodeJS.Signals): void;
  /**
   * Resolves with the first output line (from line `from` on, default 0) that matches; rejects after
   * `timeoutMs` or when the process exits first, with the output so far.
   */
  waitForOutput(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `src/main.ts` as its own process with the config written to a temporary YAML file
 * (or, with no config, whatever `GATEWAY_CONFIG` in `env` names).
 */
export async function startGatewayProcess(config: GatewayConfigInput | undefined, env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-'));
  const configPath = join(dir, 'gateway.yaml');
  if (config !== undefined) writeFileSync(configPath, toYaml(config));
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GATEWAY_CONFIG: configPath, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const lineListeners = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.finally(() => rmSync(dir, { recursive: true, force: true }));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output.join('\n')}`)), 20_000);
    const onLine = (line: string): void => {
      output.push(line);
      for (const listener of lineListeners) listener();
      const match = /"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    child,
    output,
    exited,
    configPath,
    writeConfig: (next) => writeFileSync(configPath, toYaml(next)),
    signal: (signal) => {
      if (child.exitCode === null) child.kill(signal);
    },
    waitForOutput: (pattern, { from = 0, timeoutMs = 10_000 } = {}) =>
      new Promise<string>((resolve, reject) => {
        const check = (): boolean => {
          const line = output.slice(from).find((l) => pattern.test(l));
          if (line === undefined) return false;
          done();
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no output line matched ${pattern} within ${timeoutMs} ms:\n${output.slice(from).join('\n')}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          lineListeners.delete(listener);
        };
        const listener = (): void => void check();
        if (check()) return;
        lineListeners.add(listener);
        void exited.then((code) => {
          if (!lineListeners.has(listener)) return;
          done();
          reject(new Error(`gateway exited with ${code} before printing ${pattern}:\n${output.slice(from).join('\n')}`));
        });
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface GatewayWithMock {
  mock: MockUpstream;
  gateway: RunningGateway;
}

/**
 * Registers hooks that start a mock upstream and an in-process gateway in front of it before the
 * suite's tests, and close both after them. The returned object is filled in by `beforeAll`.
 */
export function useGatewayWithMock(
  config: (mockUrl: string) => GatewayConfigInput = (url) => testConfig(url),
  mockOptions: MockUpstreamOptions = {},
): GatewayWithMock {
  const running = {} as GatewayWithMock;
  beforeAll(async () => {
    running.mock = await startMockUpstream(mockOptions);
    running.gateway = await startGateway(config(running.mock.url));
  });
  afterAll(async () => {
    await running.gateway?.close();
    await running.mock?.close();
  });
  return running;
}
