// The load: scenarios, their requests, and a load generator in a process of its own (wrk when installed,
// else autocannon), whose CPU is counted apart from the bench's and the measured proxy's.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenCpuNs } from './proc-stats.js';
import { SCRATCH, transpileToScratch } from './procs.js';
import { CHAT_BODY, IMAGE_BODY, LIMITED_KEY, requestHeaders, RESPONSES_BODY, STREAM_BODY } from './requests.js';

export type ScenarioKind = 'chat' | 'stream' | 'responses' | 'image';

export interface Scenario {
  id: string;
  label: string;
  kind: ScenarioKind;
  connections: number;
  /** Each request carries the same X-Conversation-Id. */
  conversation: boolean;
}

const KINDS: { kind: ScenarioKind; connections: number; label: string; conversation: boolean[] }[] = [
  { kind: 'chat', connections: 1, label: 'plain chat, c=1', conversation: [false, true] },
  { kind: 'chat', connections: 50, label: 'plain chat, c=50', conversation: [false, true] },
  { kind: 'stream', connections: 1, label: 'streamed chat (20 events), c=1', conversation: [false, true] },
  { kind: 'stream', connections: 50, label: 'streamed chat (20 events), c=50', conversation: [false, true] },
  { kind: 'responses', connections: 1, label: 'streamed Responses, c=1', conversation: [false, true] },
  { kind: 'responses', connections: 50, label: 'streamed Responses, c=50', conversation: [false, true] },
  { kind: 'image', connections: 10, label: 'image generation, c=10', conversation: [false] },
];

export const SCENARIOS: Scenario[] = KINDS.flatMap(({ kind, connections, label, conversation }) =>
  conversation.map((conv) => ({
    id: `${kind}-c${connections}${conv ? '-conv' : ''}`,
    label: conv ? `${label}, X-Conversation-Id` : label,
    kind,
    connections,
    conversation: conv,
  })),
);

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
  image: '/v1/images/generations',
};
const BODIES: Record<ScenarioKind, string> = { chat: CHAT_BODY, stream: STREAM_BODY, responses: RESPONSES_BODY, image: IMAGE_BODY };

/** Every request of a scenario is this one: the limited client key, and the conversation id when asked. */
export function requestOf(scenario: Scenario): BenchRequest {
  return { method: 'POST', path: PATHS[scenario.kind], headers: requestHeaders(LIMITED_KEY, scenario.conversation), body: BODIES[scenario.kind] };
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
    '  io.write(string.format(\'{"responses":%d,"failures":%d,"durationS":%f,"p50":%f,"p99":%f,"mean":%f}\\n\',',
    '    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration / 1e6,',
    '    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))',
    'end',
    '',
  ].join('\n');
}

let wrkScripts = 0;
async function runWrk(url: string, scenario: Scenario, durationS: number): Promise<RawResult> {
  mkdirSync(SCRATCH, { recursive: true });
  const script = join(SCRATCH, `wrk-${process.pid}-${wrkScripts++ % 4}.lua`);
  const request = requestOf(scenario);
  writeFileSync(script, wrkScript(request));
  const args = ['-t', '1', '-c', String(scenario.connections), '-d', `${Math.max(1, Math.round(durationS))}s`, '--timeout', '30s', '-s', script];
  return lastJsonLine(await run('wrk', [...args, url + request.path]));
}

let autocannonScript: string | undefined;
async function runAutocannon(url: string, scenario: Scenario, durationS: number): Promise<RawResult> {
  autocannonScript ??= transpileToScratch('load-autocannon.ts');
  const job = { url, connections: scenario.connections, durationS, ...requestOf(scenario) };
  return lastJsonLine(await run(process.execPath, [autocannonScript, JSON.stringify(job)]));
}

/** Loads `origin` with the scenario for about `durationS` seconds (wrk: whole seconds, at least one). */
export async function runLoad(origin: string, scenario: Scenario, durationS: number): Promise<LoadResult> {
  const cpuBefore = childrenCpuNs();
  const raw = loadGenerator === 'wrk' ? await runWrk(origin, scenario, durationS) : await runAutocannon(origin, scenario, durationS);
  const generatorCpuUs = (childrenCpuNs() - cpuBefore) / 1000 / raw.responses;
  return { ...raw, rps: raw.responses / raw.durationS, generatorCpuUs };
}
