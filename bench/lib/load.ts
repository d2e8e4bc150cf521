// The load: scenarios, their requests, and a load generator in a process of its own (wrk when installed,
// else autocannon), whose CPU is counted apart from the bench's and the measured proxy's.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenCpuNs } from './proc-stats.js';
import { SCRATCH, transpileToScratch } from './procs.js';
import { CHAT_BODY, CLIENT_KEYS, LIMITED_KEY, MESSAGES_BODY, MESSAGES_STREAM_BODY, requestHeaders, RESPONSES_BODY, STREAM_BODY } from './requests.js';

export type ScenarioKind = 'chat' | 'stream' | 'responses' | 'messages' | 'messages-stream';

/**
 * What a scenario's load can go to: the upstream itself, nginx, the two bare Fastify + reply-from hops
 * ('hop-stream': bench/reference-hop.ts, bodies streamed through; 'hop-parse': bench/reply-from-hop.ts,
 * the issue's, bodies parsed by Fastify's JSON parser), the gateway with every feature on, the same with
 * 10,000 API keys in its store, and the gateway with the store, the ledger and the Messages upstream off.
 */
export type TargetName = 'direct' | 'nginx' | 'hop-stream' | 'hop-parse' | 'gateway' | 'gateway-10k' | 'gateway-leased' | 'gateway-lean';
export const HOPS = ['hop-stream', 'hop-parse'] as const;
export type HopName = (typeof HOPS)[number];

export interface Scenario {
  id: string;
  label: string;
  kind: ScenarioKind;
  connections: number;
  /** Each request carries the same X-Conversation-Id. */
  conversation: boolean;
  /** The gateway's load sends the key issued into the keys store, or the limited config key. */
  key: 'store' | 'config';
  targets: readonly TargetName[];
}

/** Every scenario of the targets runs against these. */
const PROXIES: readonly TargetName[] = ['direct', 'nginx', 'hop-stream', 'hop-parse', 'gateway'];
/** The gateway with a store, a ledger and a Messages upstream, against the one without, on a config key. */
const FEATURES_OFF: readonly TargetName[] = ['gateway', 'gateway-lean'];

const scenario = (kind: ScenarioKind, connections: number, label: string, targets = PROXIES, key: 'store' | 'config' = 'store'): Scenario => ({
  id: `${kind}-c${connections}${key === 'config' ? '-config-key' : ''}`,
  label: `${label}, c=${connections}${key === 'config' ? ', config key' : ''}`,
  kind,
  connections,
  conversation: true,
  key,
  targets,
});

/**
 * Every feature on in every scenario: the limited key with a budget (issued into the keys store), the same
 * X-Conversation-Id on every request (one conversation, as an agent's loop sends), metrics, the access log.
 * The config-key pair measures what the store, the ledger and the Messages upstream cost requests that do
 * not use them; chat at c=50 also runs against the gateway holding 10,000 API keys.
 */
export const SCENARIOS: Scenario[] = [
  scenario('chat', 1, 'plain chat', [...PROXIES, 'gateway-leased']),
  scenario('chat', 50, 'plain chat', [...PROXIES, 'gateway-10k', 'gateway-leased']),
  scenario('stream', 1, 'streamed chat (20 events)'),
  scenario('stream', 50, 'streamed chat (20 events)'),
  scenario('responses', 1, 'streamed Responses (20 events)'),
  scenario('responses', 50, 'streamed Responses (20 events)'),
  scenario('messages', 50, 'Messages API, plain'),
  scenario('messages-stream', 50, 'Messages API, streamed (20 events)'),
  scenario('chat', 1, 'plain chat', FEATURES_OFF, 'config'),
  scenario('chat', 50, 'plain chat', FEATURES_OFF, 'config'),
];

export interface BenchRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const PATHS: Record<ScenarioKind, string> = {
  chat: '/v1/chat/completions',
  stream: '/v1/chat/completions',
  responses: '/v1/responses',
  messages: '/v1/messages',
  'messages-stream': '/v1/messages',
};
const BODIES: Record<ScenarioKind, string> = {
  chat: CHAT_BODY,
  stream: STREAM_BODY,
  responses: RESPONSES_BODY,
  messages: MESSAGES_BODY,
  'messages-stream': MESSAGES_STREAM_BODY,
};

/**
 * Every request of a scenario is this one: client key `key` (a secret; the limited config key when not
 * given), and the conversation id when asked.
 */
export function requestOf(scenario: Scenario, key: string = CLIENT_KEYS[LIMITED_KEY]): BenchRequest {
  const headers = requestHeaders(key, scenario.conversation);
  if (scenario.kind.startsWith('messages')) headers['anthropic-version'] = '2023-06-01';
  return { method: 'POST', path: PATHS[scenario.kind], headers, body: BODIES[scenario.kind] };
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  /** Responses with a status other than 2xx, plus connection errors and timeouts. */
  failures: number;
  durationS: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  /** CPU time of the load generator's process per response, µs. */
  generatorCpuUs: number;
}

/** wrk when installed (BENCH_LOAD_GENERATOR=autocannon chooses autocannon anyway), else autocannon. */
export const loadGenerator: 'wrk' | 'autocannon' =
  process.env.BENCH_LOAD_GENERATOR !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined ? 'wrk' : 'autocannon';

interface RawResult {
  responses: number;
  failures: number;
  durationS: number;
  p50: number;
  p99: number;
  p999: number;
  mean: number;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
      resolve(stdout);
    });
  });
}

function lastJsonLine(output: string): RawResult {
  const line = output.split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no result from the load generator:\n${output}`);
  return JSON.parse(line) as RawResult;
}

const luaString = (s: string): string => `[==[${s}]==]`;

/** A wrk script sending `request` and printing the result as one JSON line (latencies in µs → ms). */
function wrkScript(request: BenchRequest): string {
  return [
    `wrk.method = ${luaString(request.method)}`,
    `wrk.body = ${luaString(request.body)}`,
    ...Object.entries(request.headers).map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`),
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'{"responses":%d,"failures":%d,"durationS":%f,"p50":%f,"p99":%f,"p999":%f,"mean":%f}\\n\',',
    '    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration / 1e6,',
    '    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.mean / 1000))',
    'end',
    '',
  ].join('\n');
}

let wrkScripts = 0;
async function runWrk(url: string, request: BenchRequest, connections: number, durationS: number): Promise<RawResult> {
  mkdirSync(SCRATCH, { recursive: true });
  const script = join(SCRATCH, `wrk-${process.pid}-${wrkScripts++ % 4}.lua`);
  writeFileSync(script, wrkScript(request));
  const args = ['-t', '1', '-c', String(connections), '-d', `${Math.max(1, Math.round(durationS))}s`, '--timeout', '30s', '-s', script];
  return lastJsonLine(await run('wrk', [...args, url + request.path]));
}

let autocannonScript: string | undefined;
async function runAutocannon(url: string, request: BenchRequest, connections: number, durationS: number): Promise<RawResult> {
  autocannonScript ??= transpileToScratch('load-autocannon.ts');
  const job = { url, connections, durationS, ...request };
  return lastJsonLine(await run(process.execPath, [autocannonScript, JSON.stringify(job)]));
}

/**
 * Loads `origin` with the scenario for about `durationS` seconds (wrk: whole seconds, at least one), its
 * requests sending client key `key` (the limited config key when not given).
 */
export async function runLoad(origin: string, scenario: Scenario, durationS: number, key?: string): Promise<LoadResult> {
  const cpuBefore = childrenCpuNs();
  const request = requestOf(scenario, key);
  const raw =
    loadGenerator === 'wrk'
      ? await runWrk(origin, request, scenario.connections, durationS)
      : await runAutocannon(origin, request, scenario.connections, durationS);
  const generatorCpuUs = (childrenCpuNs() - cpuBefore) / 1000 / raw.responses;
  return { ...raw, rps: raw.responses / raw.durationS, generatorCpuUs };
}
