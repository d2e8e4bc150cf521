// The load: scenarios, their requests, and an autocannon run that keeps every latency sample.
import autocannon, { type Request } from 'autocannon';
import { CHAT_BODY, CLIENT_KEYS, CONVERSATIONS, IMAGE_BODY, requestHeaders, STREAM_BODY } from './requests.js';
import { mean, percentile } from './stats.js';

export interface Scenario {
  id: string;
  label: string;
  kind: 'chat' | 'stream' | 'image';
  connections: number;
  /** Each request carries an X-Conversation-Id from a pool of CONVERSATIONS ids. */
  conversation: boolean;
}

const KINDS = [
  { kind: 'chat', connections: 1, label: 'plain chat, c=1' },
  { kind: 'chat', connections: 50, label: 'plain chat, c=50' },
  { kind: 'stream', connections: 50, label: 'streamed chat (20 chunks), c=50' },
  { kind: 'image', connections: 10, label: 'image generation, c=10' },
] as const;

export const SCENARIOS: Scenario[] = KINDS.flatMap(({ kind, connections, label }) =>
  [false, true].map((conversation) => ({
    id: `${kind}-c${connections}${conversation ? '-conv' : ''}`,
    label: conversation ? `${label}, X-Conversation-Id` : label,
    kind,
    connections,
    conversation,
  })),
);

/** Built once: autocannon pre-serialises static requests, so the load generator does no per-request work. */
function requestsFor(scenario: Scenario): Request[] {
  const path = scenario.kind === 'image' ? '/v1/images/generations' : '/v1/chat/completions';
  const body = scenario.kind === 'image' ? IMAGE_BODY : scenario.kind === 'stream' ? STREAM_BODY : CHAT_BODY;
  const count = scenario.conversation ? CONVERSATIONS : CLIENT_KEYS.length;
  return Array.from({ length: count }, (_, i) => ({ method: 'POST', path, body, headers: requestHeaders(i, scenario.conversation) }));
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  /** Responses with a status other than 2xx, plus connection errors and timeouts. */
  failures: number;
  durationS: number;
  rps: number;
  /** Milliseconds, from every response's own timing (autocannon's histogram only keeps whole ms). */
  p50: number;
  p99: number;
  mean: number;
}

/** Loads `origin` with the scenario for `durationS` seconds. */
export function runLoad(origin: string, scenario: Scenario, durationS: number): Promise<LoadResult> {
  const samples: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: origin,
        connections: scenario.connections,
        duration: durationS,
        // autocannon checks for the end of the run once per sample interval: 1 s by default.
        sampleInt: 100,
        timeout: 30,
        requests: requestsFor(scenario),
      },
      (err, result) => {
        if (err !== null) return reject(err);
        const sorted = Float64Array.from(samples).sort();
        resolve({
          responses: samples.length,
          failures: result.non2xx + result.errors + result.timeouts,
          durationS: result.duration,
          rps: samples.length / result.duration,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          mean: mean(sorted),
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      samples.push(ms);
    });
  });
}
