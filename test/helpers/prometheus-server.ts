/**
 * A real Prometheus for tests: a `prometheus` child process on 127.0.0.1 and a free port, with its own
 * temporary data directory, and `promtool` for checking configs and rule files. Nothing is skipped: when
 * the binaries are missing the helpers throw (`npm test` installs them through scripts/ensure-prometheus.sh).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { getFreePort } from './redis.js';

const MISSING =
  'these tests need real `prometheus` and `promtool` binaries on PATH: run `bash scripts/ensure-prometheus.sh` ' +
  "(which `npm test` runs) or install Debian's prometheus package (apt-get install -y prometheus).";

const READY_TIMEOUT_MS = 60_000;
const MAX_PORT_ATTEMPTS = 5;

export interface ToolResult {
  status: number | null;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

/** Runs `promtool` with these arguments in `cwd`; throws when it cannot be run at all. */
export function promtool(args: string[], cwd?: string): ToolResult {
  const res = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (res.error) throw new Error(`promtool ${args.join(' ')}: ${res.error.message}; ${MISSING}`);
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

/** One series of an instant query's result. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryResult =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

/** An error answer of Prometheus' HTTP API (`bad_data` for an expression that does not parse). */
export class PrometheusApiError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(`${errorType}: ${message}`);
  }
}

export interface ScrapeTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  scrapeUrl: string;
}

export interface RuleGroup {
  name: string;
  file: string;
  rules: { name: string; health: string; lastError?: string; query: string; type: string }[];
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query at `time` (Unix seconds; default now). Rejects with PrometheusApiError on an API error. */
  query(expr: string, time?: number): Promise<QueryResult>;
  /** The values of a label among the series `match` selects, as Grafana's `label_values(match, label)` asks them. */
  labelValues(label: string, match: string): Promise<string[]>;
  targets(): Promise<ScrapeTarget[]>;
  ruleGroups(): Promise<RuleGroup[]>;
  /** Everything the process wrote so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `config` (a prometheus.yml as an object). Paths in the config must be absolute:
 * the file is written to a temporary directory. Resolves once Prometheus answers /-/ready.
 */
export async function startPrometheus(config: object): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
  writeFileSync(join(dir, 'prometheus.yml'), toYaml(config));
  let lastFailure = '';
  for (let attempt = 0; attempt < MAX_PORT_ATTEMPTS; attempt++) {
    try {
      return await launch(dir, await getFreePort());
    } catch (err) {
      lastFailure = (err as Error).message;
      // Another process took the port between choosing and binding it: try another one.
      if (!/address already in use/.test(lastFailure)) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`prometheus did not start: ${lastFailure}`);
}

async function launch(dir: string, port: number): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, `data-${port}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (output += chunk));
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const stopOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', stopOnExit);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failed = await Promise.race([
      spawnError.then((err) => `cannot run prometheus: ${err.message}; ${MISSING}`),
      exited.then((code) => `prometheus exited with ${code} before it was ready:\n${output}`),
      ready(url).then((ok) => (ok ? undefined : null)),
    ]);
    if (failed === undefined) break;
    if (typeof failed === 'string') {
      process.removeListener('exit', stopOnExit);
      throw new Error(failed);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      process.removeListener('exit', stopOnExit);
      throw new Error(`prometheus was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const api = async <T>(path: string, params: Record<string, string | string[]>): Promise<T> => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) query.append(name, v);
    const res = await request(`${url}/api/v1/${path}?${query.toString()}`);
    const body = (await res.body.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status !== 'success') throw new PrometheusApiError(body.errorType ?? 'unknown', body.error ?? JSON.stringify(body));
    return body.data;
  };

  return {
    url,
    query: (expr, time = Date.now() / 1000) => api<QueryResult>('query', { query: expr, time: String(time) }),
    labelValues: (label, match) => api<string[]>(`label/${encodeURIComponent(label)}/values`, { 'match[]': match }),
    targets: async () => (await api<{ activeTargets: ScrapeTarget[] }>('targets', {})).activeTargets,
    ruleGroups: async () => (await api<{ groups: RuleGroup[] }>('rules', {})).groups,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/-/ready`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** Calls `check` every `everyMs` until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
